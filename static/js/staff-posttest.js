// The post-test editor works without this file: its buttons post the page and get it back
// rearranged. This puts focus back where the keyboard user was (the question just moved,
// the row just added) and has screen readers read what the button did, which a page load
// alone would not announce.
document.addEventListener("DOMContentLoaded", () => {
  const editor = document.getElementById("posttest-editor");
  if (!editor || document.querySelector("[data-error-summary]")) return;
  const target = editor.dataset.focus && document.getElementById(editor.dataset.focus);
  if (target) target.focus();
  const status = document.getElementById("posttest-status");
  if (status && status.textContent.trim()) {
    const text = status.textContent;
    status.textContent = "";
    window.setTimeout(() => { status.textContent = text; }, 250);
  }
});
