// Renders the catalog for `switchyard catalog`: tables for people, JSON for scripts.
import { GPUS, GpuId } from './gpus.ts';
import { Dtype, MODELS, type ModelSpec, getModel, kvBytesPerToken, weightBytes } from './models.ts';
import { loadPrices } from './prices.ts';
import { fits, smallestTensorParallel, kvCapacityTokens } from '../sizing.ts';
import { formatTable } from '../../core/text-table.ts';

function sizingRows(model: ModelSpec) {
  return GpuId.options.flatMap((gpuId) =>
    Dtype.options.map((dtype) => {
      const gpu = GPUS[gpuId];
      const tensorParallel = smallestTensorParallel({ model, gpu, dtype });
      const deployment = tensorParallel ? { model, gpu, dtype, tensorParallel } : undefined;
      return {
        gpu: gpuId,
        dtype,
        tensorParallel: tensorParallel ?? null,
        kvCapacityTokens: deployment ? kvCapacityTokens(deployment) : 0,
        note: deployment ? fits(deployment).reason : 'does not fit on 8 GPUs',
      };
    }),
  );
}

export function printCatalog(options: { model?: string; json?: boolean }): void {
  const prices = loadPrices();
  const models = options.model ? [getModel(options.model)] : Object.values(MODELS);
  const report = {
    models: models.map((model) => ({
      ...model,
      weightGb: Object.fromEntries(
        Dtype.options.map((dtype) => [dtype, +(weightBytes(model, dtype) / 1e9).toFixed(2)]),
      ),
      kvBytesPerToken: kvBytesPerToken(model),
      sizing: sizingRows(model),
    })),
    gpus: Object.values(GPUS).map((gpu) => ({ ...gpu, price: prices.gpus[gpu.id] ?? null })),
    hosted: prices.hosted,
  };
  if (options.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  for (const model of report.models) {
    console.log(
      `${model.displayName} (${model.id}): ${(model.parameters / 1e9).toFixed(2)}B params, ${model.layers} layers, ` +
        `KV ${(model.kvBytesPerToken / 1024).toFixed(0)} KiB/token, weights bf16 ${model.weightGb['bf16']} GB`,
    );
    console.log(
      formatTable(
        ['GPU', 'dtype', 'GPUs (TP)', 'KV tokens', 'fits'],
        model.sizing.map((row) => [
          row.gpu,
          row.dtype,
          row.tensorParallel,
          row.kvCapacityTokens.toLocaleString('en-US'),
          row.tensorParallel === null ? row.note : 'yes',
        ]),
      ),
    );
    console.log('');
  }
  console.log('GPUs');
  console.log(
    formatTable(
      ['GPU', 'memory GB', 'bandwidth GB/s', 'bf16 TFLOP/s', '$/GPU-hour'],
      report.gpus.map((gpu) => [
        gpu.id,
        gpu.memoryBytes / 1e9,
        gpu.memoryBandwidth / 1e9,
        gpu.bf16Flops / 1e12,
        gpu.price ? gpu.price.hourly.toFixed(2) : null,
      ]),
    ),
  );
  console.log('');
  console.log('Hosted APIs ($ per 1M tokens)');
  console.log(
    formatTable(
      ['model', 'input', 'output', 'price date'],
      Object.entries(report.hosted).map(([id, price]) => [id, price.input, price.output, price.date]),
    ),
  );
}
