// Starts Swagger UI on the API page. A file rather than an inline <script>, so that the page runs
// under a Content-Security-Policy without 'unsafe-inline' (app/web/security.py). The options are
// FastAPI's defaults for its own docs page; the OpenAPI URL comes from the page. SwaggerUIBundle is
// the vendored bundle's one global (a classic script, loaded before this module runs).
const root = document.getElementById("swagger-ui");
const { SwaggerUIBundle } = window;
SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,  // no badge fetched from validator.swagger.io: the page stays offline
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
