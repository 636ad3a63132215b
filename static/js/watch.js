// The watch page's player: resume where the learner stopped, show how much has been
// watched while it plays, and report which parts of the recording were actually played
// (seeking past a stretch does not count) under the page's viewing session. Also hands
// audio descriptions to the learner's screen reader, which browsers do not voice.
(function () {
  "use strict";

  var described = document.querySelector("video#recording track[kind=descriptions]");
  var descriptionText = document.getElementById("audio-description");
  if (described && descriptionText) {
    // A hidden track still loads and fires cue changes, and draws nothing on the video.
    described.track.mode = "hidden";
    described.track.addEventListener("cuechange", function () {
      var cues = Array.prototype.slice.call(described.track.activeCues || []);
      if (cues.length) {
        descriptionText.textContent = cues.map(function (cue) { return cue.text; }).join(" ");
      }
    });
  }

  // On object storage the recording's view redirects to a presigned URL that expires in
  // minutes, and Chromium fetches later byte ranges (after a long pause or a seek) from
  // that URL, not the view's, so they fail as an expired signature does. Loading the
  // view's URL again has it signed afresh; the player goes back to where it was. At most
  // once per RETRY_AFTER_MS: a view that fails too (logged out, say) is not hammered.
  var RETRY_AFTER_MS = 30000;
  var player = document.querySelector("video#recording");
  var source = player && player.querySelector("source[src]");
  if (source) {
    var viewUrl = source.src;
    var lastRetry = -Infinity;
    // Whether the learner had it playing: Chromium pauses the video before reporting the
    // error, without a "pause" event, so `paused` no longer says.
    var playing = false;
    player.addEventListener("play", function () { playing = true; });
    player.addEventListener("pause", function () { playing = false; });
    player.addEventListener("error", function () {
      var error = player.error;
      // Chromium reports a URL that fails while loading as "not supported", and one that
      // fails mid-stream as a network error.
      if (!error || (error.code !== error.MEDIA_ERR_NETWORK &&
                     error.code !== error.MEDIA_ERR_SRC_NOT_SUPPORTED)) {
        return;
      }
      if (Date.now() - lastRetry < RETRY_AFTER_MS) {
        return;
      }
      lastRetry = Date.now();
      var position = player.currentTime;
      var resume = playing;
      // Loading resets the speed to the default; the learner's choice stays.
      var rate = player.playbackRate;
      player.addEventListener("loadedmetadata", function () {
        player.playbackRate = rate;
        if (position > 0) {
          player.currentTime = position;
        }
        if (resume) {
          player.play().catch(function () {});
        }
      }, { once: true });
      // A URL of its own, so the browser asks the view again instead of reusing what it
      // knows of the old one (Chromium may follow the earlier redirect from memory).
      player.src = viewUrl;
    });
  }

  var video = document.querySelector("video[data-progress-url]");
  if (!video) {
    return;
  }
  // Often enough that a reload or a closed laptop loses only a few seconds of viewing.
  var REPORT_EVERY_MS = 4000;
  // A bigger jump between two "timeupdate" events than playback could make is a seek.
  var MAX_STEP_SECONDS = 3;
  // Played stretches the server has not counted yet are sent again; this much difference
  // is only rounding to whole milliseconds.
  var ROUNDING_SECONDS = 0.05;
  var REACHED = "You have watched enough; Continue is now available below the video.";
  var NOT_SAVING = "Your progress is no longer being saved. Reload the page to go on.";
  var LOGGED_OUT = "You have been logged out; log in again to save your progress.";
  var OFFLINE = "We could not reach the server; your progress will be saved when the " +
    "connection returns.";
  var SERVER_TROUBLE = "The server could not save your progress just now; it will try again.";

  var url = video.dataset.progressUrl;
  var sessionUrl = video.dataset.sessionUrl;
  // The viewing session: asked for when playing starts, not when the page loads.
  var session = "";
  var opening = null;
  var resuming = false;
  var csrfToken = video.dataset.csrfToken;
  var resumeAt = Number(video.dataset.resumeAt) || 0;
  var duration = Number(video.dataset.duration) || 0;
  var requiredPercent = Number(video.dataset.requiredPercent) || 0;
  // The server credits viewing no faster than this, so the player plays no faster.
  var maxRate = Number(video.dataset.maxRate) || 1;
  var status = document.getElementById("viewing-status");
  var meter = document.getElementById("viewing-meter");
  var announcement = document.getElementById("viewing-announcement");
  var alertRegion = document.getElementById("viewing-alert");
  var continueButton = document.getElementById("continue-button");
  var rateSelect = document.getElementById("playback-rate");

  // Stretches played on this page, [start, end] in seconds, kept merged. Each report
  // sends all of them, so a lost or late report is made good by the next one.
  var watched = [];
  // What the server has counted so far, this page's reports included.
  var saved = JSON.parse(video.dataset.watched || "[]");
  var met = Boolean(continueButton && !continueButton.hidden);
  // Where the player was at the last "timeupdate", or came to rest after a seek: playing
  // counts from there, so the first moments after pressing play count too.
  var lastTime = video.currentTime;
  var unsent = false;
  var sending = false;
  var stopped = false;

  function merged(ranges) {
    var result = [];
    ranges.slice().sort(function (a, b) { return a[0] - b[0]; }).forEach(function (range) {
      var previous = result[result.length - 1];
      if (previous && range[0] <= previous[1]) {
        previous[1] = Math.max(previous[1], range[1]);
      } else {
        result.push([range[0], range[1]]);
      }
    });
    return result;
  }

  function total(ranges) {
    return ranges.reduce(function (sum, range) {
      return sum + Math.max(0, Math.min(range[1], duration) - range[0]);
    }, 0);
  }

  // As courses.models.format_duration writes it, so the text reads the same either way.
  function formatDuration(seconds) {
    seconds = Math.floor(seconds);
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var secs = seconds % 60;
    var parts = hours ? [hours + " h"] : [];
    if (minutes) {
      parts.push(minutes + " min");
    }
    if (secs && !hours) {
      parts.push(secs + " s");
    }
    return parts.join(" ") || "0 s";
  }

  function statusText(seconds) {
    var percent = Math.floor((seconds * 100) / duration);
    var text = "You have watched " + formatDuration(Math.round(seconds)) + " of " +
      formatDuration(duration) + " (" + percent + "%).";
    if (!requiredPercent) {
      return text;
    }
    if (met) {
      return text + " That is enough to continue.";
    }
    var remaining = Math.max(0, Math.ceil((requiredPercent * duration) / 100 - seconds - 1e-9));
    if (remaining === 0) {
      return text + " Saving your progress…";
    }
    return text + " Watch " + formatDuration(remaining) + " more to reach " + requiredPercent +
      "% and continue.";
  }

  // The page's own count: what played here merged with what the server already had.
  function showProgress() {
    if (!duration) {
      return;
    }
    var seconds = total(merged(watched.concat(saved)));
    if (meter) {
      meter.value = Math.floor((seconds * 100) / duration);
      meter.textContent = meter.value + "%";
    }
    if (status) {
      status.textContent = statusText(seconds);
    }
  }

  function announce(text) {
    if (announcement) {
      announcement.textContent = text;
    }
  }

  // Why progress is not being saved, until a report gets through; "" clears it.
  function alertLearner(text) {
    if (alertRegion && alertRegion.textContent !== text) {
      alertRegion.textContent = text;
      alertRegion.hidden = !text;
    }
  }

  function addPlayed(start, end) {
    watched = merged(watched.concat([[start, end]]));
    unsent = true;
    showProgress();
  }

  function accepted(progress) {
    saved = progress.watched;
    if (progress.requirement_met && !met) {
      met = true;
      if (continueButton) {
        continueButton.hidden = false;
        announce(REACHED);
      }
    }
    // A report that ran ahead of the server's clock was counted only in part.
    if (total(merged(watched.concat(saved))) - total(saved) > ROUNDING_SECONDS) {
      unsent = true;
    }
    showProgress();
  }

  function post(target, body, leaving) {
    return fetch(target, {
      method: "POST",
      credentials: "same-origin",
      keepalive: leaving,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(body)
    }).then(function (response) {
      // A proxy or server error may answer with a page instead of JSON.
      return response.json().catch(function () { return {}; }).then(function (answer) {
        return { ok: response.ok, answer: answer };
      });
    });
  }

  // Once at a time: "play" and the report timer may both find the page without one.
  function sessionOpen() {
    if (!opening) {
      opening = renewSession().then(function () { opening = null; }, function () {
        opening = null;
        unsent = true;
        alertLearner(OFFLINE);
      });
    }
    return opening;
  }

  // The first session, or a new one after a long pause ended the last: the next report
  // goes out under it.
  function renewSession() {
    return post(sessionUrl, {}, false).then(function (result) {
      if (result.ok) {
        session = result.answer.session;
        unsent = true;
      } else if (result.answer.session === "logged_out") {
        loggedOut(result.answer.error);
      } else {
        stop(result.answer.error);
      }
    });
  }

  // Logging in again (in another tab) lets the next report through, so keep trying.
  function loggedOut(message) {
    unsent = true;
    alertLearner(message || LOGGED_OUT);
  }

  function stop(message) {
    stopped = true;
    alertLearner(message || NOT_SAVING);
  }

  function report(leaving) {
    if (!unsent || stopped || (sending && !leaving)) {
      return;
    }
    if (!session) {
      // What the learner did goes out as soon as there is a session to send it under.
      sessionOpen().then(function () {
        if (session) {
          report(leaving);
        }
      });
      return;
    }
    unsent = false;
    sending = true;
    post(url, {
      session: session,
      position: video.currentTime,
      watched: watched,
      sent_at: Date.now()
    }, leaving)
      .then(function (result) {
        if (result.ok) {
          alertLearner("");
          accepted(result.answer);
        } else if (result.answer.session === "expired") {
          return renewSession();
        } else if (result.answer.session === "logged_out") {
          loggedOut(result.answer.error);
        } else if (result.answer.session) {
          stop(result.answer.error);
        } else if (result.answer.error) {
          // A refused report: the next one, with more played, may well be accepted.
          alertLearner(result.answer.error);
        } else {
          unsent = true;
          alertLearner(SERVER_TROUBLE);
        }
      })
      .catch(function () {
        // Offline: the next report carries everything again.
        unsent = true;
        alertLearner(OFFLINE);
      })
      .then(function () {
        sending = false;
      });
  }

  function resume() {
    if (resumeAt > 0 && !(resumeAt >= video.duration)) {
      resuming = true;
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
    lastTime = video.currentTime;
    if (resuming) {
      // Back where the server says the learner was: nothing new to save.
      resuming = false;
    } else {
      unsent = true;
    }
  });
  video.addEventListener("ratechange", function () {
    if (video.playbackRate > maxRate) {
      video.playbackRate = maxRate;
    }
    if (rateSelect) {
      rateSelect.value = String(video.playbackRate);
    }
  });
  if (rateSelect) {
    rateSelect.addEventListener("change", function () {
      video.playbackRate = Math.min(Number(rateSelect.value) || 1, maxRate);
    });
  }
  video.addEventListener("play", function () {
    if (!session && !stopped) {
      sessionOpen();
    }
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
