// Guardrail profiles by name. A key (or model) naming a profile the config does not define must never pass as "no
// profile": its requests would silently run under the default policy only. So the name is checked where a key is
// created (CLI and /admin/keys) and again where it is used, since the key database outlives config edits.
import { ServerSetupError } from '../../../core/errors.ts';
import { mergePolicy, type GovernanceConfig, type GuardrailPolicy } from '../../config/governance.ts';

type Guardrails = GovernanceConfig['guardrails'];

/** The names of the profiles a config defines, sorted, for messages. */
export function profileNames(guardrails: Guardrails): string[] {
  return Object.keys(guardrails.profiles).sort();
}

/** Whether `name` is a profile of this config (own keys only: "constructor" is not a profile). */
export function isKnownProfile(guardrails: Guardrails, name: string): boolean {
  return Object.hasOwn(guardrails.profiles, name);
}

/** "profile "x" is not defined (known profiles: a, b)", or undefined when the config defines it. */
export function unknownProfileMessage(guardrails: Guardrails, name: string, source?: string): string | undefined {
  if (isKnownProfile(guardrails, name)) return undefined;
  const names = profileNames(guardrails);
  const known = names.length > 0 ? `known profiles: ${names.join(', ')}` : 'it defines no guardrail profiles';
  const where = source === undefined ? '' : ` of ${source}`;
  return `guardrail profile "${name}" is not defined in governance.guardrails.profiles${where} (${known})`;
}

/**
 * The policy for one request: the default, then the model's profile, then the key's. A key whose profile the config
 * does not define is refused (500, the installation is wrong) rather than served with weaker guardrails.
 */
export function guardrailPolicyFor(
  guardrails: Guardrails,
  keyProfile: string | null | undefined,
  model: string,
): GuardrailPolicy {
  const modelProfile = guardrails.models[model];
  if (keyProfile && !isKnownProfile(guardrails, keyProfile)) {
    throw new ServerSetupError(
      "This API key's guardrail profile is not defined in this router's config; ask the administrator to define it or to issue a new key.",
      { code: 'unknown_guardrail_profile' },
    );
  }
  return mergePolicy(
    guardrails.default,
    modelProfile ? guardrails.profiles[modelProfile] : undefined,
    keyProfile ? guardrails.profiles[keyProfile] : undefined,
  );
}
