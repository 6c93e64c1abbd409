"""API documentation: the OpenAPI 3.1 document (``/openapi.json``) and the HTML page (``/docs``)."""
