// Swagger UI for /api/docs/, started from our own static file: the CSP forbids inline
// scripts. The bundle (drf-spectacular-sidecar) defines the global SwaggerUIBundle.
const root = document.getElementById("swagger-ui");

if (root && window.SwaggerUIBundle) {
  const csrfToken = root.dataset.csrfToken || "";
  window.SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    domNode: root,
    deepLinking: true,
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
