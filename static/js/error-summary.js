// After a rejected form the page reloads with an error summary; moving focus to it makes
// screen readers read the errors at once and puts keyboard users next to the links to the
// fields, instead of leaving focus on <body>.
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();
});
