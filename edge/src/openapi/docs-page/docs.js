// Starts Swagger UI on the document; an external script, as the page's CSP allows no inline one.
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // Enum values and the like sit in the schemas; showing them expanded by default is too long a page.
  defaultModelsExpandDepth: 0,
  tryItOutEnabled: false,
});
