// Validates one manifest against the Kubernetes OpenAPI schema of its apiVersion/kind, as generated from the
// upstream API by `kubernetes-models` (core, apps, batch, autoscaling …) and from KEDA's CRDs by `@kubernetes-models/keda`.
// Returns the problems as `path: message` lines; empty when valid.
import * as apps from 'kubernetes-models/apps/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as batch from 'kubernetes-models/batch/v1';
import * as core from 'kubernetes-models/v1';
import * as keda from '@kubernetes-models/keda/keda.sh/v1alpha1';

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: Record<string, unknown>) => Validatable;

const MODELS: Readonly<Record<string, ModelClass>> = {
  'v1/ConfigMap': core.ConfigMap as unknown as ModelClass,
  'v1/Namespace': core.Namespace as unknown as ModelClass,
  'v1/PersistentVolumeClaim': core.PersistentVolumeClaim as unknown as ModelClass,
  'v1/Secret': core.Secret as unknown as ModelClass,
  'v1/Service': core.Service as unknown as ModelClass,
  'apps/v1/Deployment': apps.Deployment as unknown as ModelClass,
  'batch/v1/Job': batch.Job as unknown as ModelClass,
  'autoscaling/v2/HorizontalPodAutoscaler': autoscaling.HorizontalPodAutoscaler as unknown as ModelClass,
  'keda.sh/v1alpha1/ScaledObject': keda.ScaledObject as unknown as ModelClass,
};

export function validateAgainstKubernetesSchema(document: Record<string, unknown>): string[] {
  const key = `${String(document['apiVersion'])}/${String(document['kind'])}`;
  const Model = MODELS[key];
  if (!Model) return [`no schema for ${String(document['apiVersion'])} ${String(document['kind'])}`];
  try {
    new Model(document).validate();
    return [];
  } catch (error) {
    return String((error as Error).message)
      .split(/,\s*(?=data\/)|\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '');
  }
}
