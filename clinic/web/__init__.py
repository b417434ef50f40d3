"""HTTP plumbing shared by every area: problem+json, reading requests and writing JSON,
the OpenAPI document, authentication middlewares, request logs and metrics, health,
and the MiniApp's files. It imports no area: the composition root wires it."""
