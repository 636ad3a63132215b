// The watch page's player: resume where the learner stopped, and report which parts of
// the recording were actually played (seeking past a stretch does not count).
(function () {
  "use strict";

  var video = document.querySelector("video[data-progress-url]");
  if (!video) {
    return;
  }
  var REPORT_EVERY_MS = 10000;
  // A bigger jump between two "timeupdate" events than playback could make is a seek.
  var MAX_STEP_SECONDS = 3;

  var url = video.dataset.progressUrl;
  var csrfToken = video.dataset.csrfToken;
  var resumeAt = Number(video.dataset.resumeAt) || 0;
  var status = document.getElementById("viewing-status");
  var meter = document.getElementById("viewing-meter");
  var continueButton = document.getElementById("continue-button");

  // Stretches played on this page, [start, end] in seconds, kept merged. Each report
  // sends all of them, so a lost or late report is made good by the next one.
  var watched = [];
  var lastTime = null;
  var unsent = false;

  function addPlayed(start, end) {
    watched.push([start, end]);
    watched.sort(function (a, b) { return a[0] - b[0]; });
    var merged = [];
    watched.forEach(function (range) {
      var previous = merged[merged.length - 1];
      if (previous && range[0] <= previous[1]) {
        previous[1] = Math.max(previous[1], range[1]);
      } else {
        merged.push([range[0], range[1]]);
      }
    });
    watched = merged;
    unsent = true;
  }

  function show(progress) {
    if (status) {
      status.textContent = progress.status;
    }
    if (meter) {
      meter.value = progress.percent;
      meter.textContent = progress.percent + "%";
    }
    if (progress.requirement_met && continueButton) {
      continueButton.hidden = false;
    }
  }

  function report(leaving) {
    if (!unsent) {
      return;
    }
    unsent = false;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: leaving,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify({
        position: video.currentTime,
        watched: watched,
        sent_at: Date.now()
      })
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (progress) {
        if (progress) {
          show(progress);
        }
      })
      .catch(function () {
        // Offline for a moment: the next report carries everything again.
        unsent = true;
      });
  }

  function resume() {
    if (resumeAt > 0 && !(resumeAt >= video.duration)) {
      video.currentTime = resumeAt;
    }
  }

  video.addEventListener("timeupdate", function () {
    var now = video.currentTime;
    var step = now - lastTime;
    if (lastTime !== null && step > 0 && step <= MAX_STEP_SECONDS * Math.max(1, video.playbackRate)) {
      addPlayed(lastTime, now);
    }
    lastTime = now;
  });
  video.addEventListener("seeking", function () {
    lastTime = null;
  });
  video.addEventListener("seeked", function () {
    unsent = true;
  });
  video.addEventListener("pause", function () { report(false); });
  video.addEventListener("ended", function () { report(false); });
  window.addEventListener("pagehide", function () { report(true); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      report(true);
    }
  });
  window.setInterval(function () { report(false); }, REPORT_EVERY_MS);

  if (video.readyState >= 1) {
    resume();
  } else {
    video.addEventListener("loadedmetadata", resume, { once: true });
  }
}());
