// Body validation for the retrieval endpoints: the router's own (the first zod issue becomes an OpenAI-style 400
// naming the parameter), so retrieval's endpoints answer bad input exactly as the rest of the API does.
export { parseBody } from '../../core/openai-schemas.ts';
