// Small progressive enhancements. Every page works without this file.

// A form that came back with errors: move focus to the summary so screen-reader and
// keyboard users hear what to fix (the summary links to each field).
function focusErrorSummary() {
  const summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
}

// Destructive actions (e.g. withdrawing consent) ask once more. Without JavaScript the
// server-side flow is unchanged.
function confirmForms() {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  }
}

// Sections shown only for one choice of a radio group:
// <fieldset data-show-when="name=value">. Hidden sections keep their values; the
// server ignores the fields of the choice not taken.
function conditionalSections() {
  const sections = document.querySelectorAll("[data-show-when]");
  for (const section of sections) {
    const [name, value] = section.dataset.showWhen.split("=");
    const form = section.closest("form");
    if (!form) continue;
    const update = () => {
      const checked = form.querySelector(`input[name="${CSS.escape(name)}"]:checked`);
      section.hidden = !checked || checked.value !== value;
    };
    form.addEventListener("change", (event) => {
      if (event.target.name === name) update();
    });
    update();
  }
}

focusErrorSummary();
confirmForms();
conditionalSections();
