/** Where the versioned API lives; light enough for `stockflow serve --help` to name it without loading fastify. */
export const API_PREFIX = '/api/v1';
