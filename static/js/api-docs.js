// Swagger UI for /api/docs/, started from our own static file: the CSP forbids inline
// scripts. The bundle (drf-spectacular-sidecar) defines the global SwaggerUIBundle.
const root = document.getElementById("swagger-ui");

if (root && window.SwaggerUIBundle) {
  const csrfToken = root.dataset.csrfToken || "";
  window.SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    domNode: root,
    // Accessibility (docs/accessibility.md): deep links put a link inside each
    // operation's toggle button (nested controls), and the highlighter's colours fail
    // the contrast minimum, so both are off.
    deepLinking: false,
    syntaxHighlight: false,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // "Try it out" in the browser uses the session: unsafe methods need the CSRF token.
    requestInterceptor: (request) => {
      if (csrfToken) {
        request.headers["X-CSRFToken"] = csrfToken;
      }
      return request;
    },
  });
}

// Swagger UI renders the choices of an enum parameter ("Try it out") as a <select>
// without a label; name each one after its parameter, as the row shows it.
function labelParameterSelects(node) {
  for (const select of node.querySelectorAll("tr[data-param-name] select:not([aria-label])")) {
    const row = select.closest("tr[data-param-name]");
    select.setAttribute("aria-label", row.dataset.paramName);
  }
}

if (root) {
  new MutationObserver(() => labelParameterSelects(root)).observe(root, {
    childList: true,
    subtree: true,
  });
}
