// Architecture facts of the models Switchyard serves, from each model's published config.json.
import { z } from 'zod';

export const ModelId = z.enum(['llama-3.1-8b', 'llama-3.1-70b', 'mistral-7b', 'llama-3.3-70b']);
export type ModelId = z.infer<typeof ModelId>;

export const Dtype = z.enum(['bf16', 'fp8', 'int4-awq']);
export type Dtype = z.infer<typeof Dtype>;

export interface ModelSpec {
  id: ModelId;
  /** The Hugging Face repository vLLM is launched with. */
  huggingFaceId: string;
  displayName: string;
  parameters: number;
  layers: number;
  hiddenSize: number;
  intermediateSize: number;
  attentionHeads: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  maxContext: number;
  /** Untied input embedding + LM head parameters; AWQ keeps these in 16 bits. */
  embeddingParameters: number;
}

const llama70bShape = {
  parameters: 70_553_706_496,
  layers: 80,
  hiddenSize: 8192,
  intermediateSize: 28672,
  attentionHeads: 64,
  kvHeads: 8,
  headDim: 128,
  vocabSize: 128_256,
  maxContext: 131_072,
  embeddingParameters: 2 * 128_256 * 8192,
} as const;

export const MODELS: Readonly<Record<ModelId, ModelSpec>> = {
  'llama-3.1-8b': {
    id: 'llama-3.1-8b',
    huggingFaceId: 'meta-llama/Llama-3.1-8B-Instruct',
    displayName: 'Llama 3.1 8B Instruct',
    parameters: 8_030_261_248,
    layers: 32,
    hiddenSize: 4096,
    intermediateSize: 14336,
    attentionHeads: 32,
    kvHeads: 8,
    headDim: 128,
    vocabSize: 128_256,
    maxContext: 131_072,
    embeddingParameters: 2 * 128_256 * 4096,
  },
  'llama-3.1-70b': {
    id: 'llama-3.1-70b',
    huggingFaceId: 'meta-llama/Llama-3.1-70B-Instruct',
    displayName: 'Llama 3.1 70B Instruct',
    ...llama70bShape,
  },
  'llama-3.3-70b': {
    id: 'llama-3.3-70b',
    huggingFaceId: 'meta-llama/Llama-3.3-70B-Instruct',
    displayName: 'Llama 3.3 70B Instruct',
    ...llama70bShape,
  },
  'mistral-7b': {
    id: 'mistral-7b',
    huggingFaceId: 'mistralai/Mistral-7B-Instruct-v0.3',
    displayName: 'Mistral 7B Instruct v0.3',
    parameters: 7_248_023_552,
    layers: 32,
    hiddenSize: 4096,
    intermediateSize: 14336,
    attentionHeads: 32,
    kvHeads: 8,
    headDim: 128,
    vocabSize: 32_768,
    maxContext: 32_768,
    embeddingParameters: 2 * 32_768 * 4096,
  },
};

/** Bytes per parameter of the transformer body; AWQ int4 with group size 128 stores fp16 scales and zeros (~4.25 bits). */
const BODY_BYTES_PER_PARAMETER: Readonly<Record<Dtype, number>> = { bf16: 2, fp8: 1, 'int4-awq': 4.25 / 8 };
/** Embeddings and LM head stay at 16 bits under AWQ; fp8 checkpoints quantise them too in vLLM's dynamic fp8. */
const EMBEDDING_BYTES_PER_PARAMETER: Readonly<Record<Dtype, number>> = { bf16: 2, fp8: 1, 'int4-awq': 2 };

export function getModel(id: string): ModelSpec {
  const parsed = ModelId.safeParse(id);
  if (!parsed.success) {
    throw new Error(`unknown model "${id}"; known: ${ModelId.options.join(', ')}`);
  }
  return MODELS[parsed.data];
}

/** Bytes of weights for the whole model at a dtype. */
export function weightBytes(model: ModelSpec, dtype: Dtype): number {
  const body = model.parameters - model.embeddingParameters;
  return body * BODY_BYTES_PER_PARAMETER[dtype] + model.embeddingParameters * EMBEDDING_BYTES_PER_PARAMETER[dtype];
}

/** KV-cache bytes one token occupies across all layers (K and V, 16-bit cache). */
export function kvBytesPerToken(model: ModelSpec, kvCacheBytesPerElement = 2): number {
  return 2 * model.layers * model.kvHeads * model.headDim * kvCacheBytesPerElement;
}

/** Matmul FLOPs per generated token (2 per parameter, embedding lookup excluded, LM head included). */
export function flopsPerToken(model: ModelSpec): number {
  return 2 * (model.parameters - model.embeddingParameters / 2);
}
