// PII detectors: credit cards (13–19 digits, Luhn-checked), US SSNs, e-mail addresses, phone numbers and IBANs
// (ISO 13616 mod-97 checked). Each detector also states the longest text it can match, which the stream guard's
// hold-back window must cover for a split secret to be caught.
import type { PiiType } from '../../config/governance.ts';

export interface Finding {
  type: string;
  start: number;
  end: number;
  /** Touches the end of the text and may still grow: reported without validation when asked for. */
  pending?: boolean;
}

interface Detector {
  type: PiiType;
  pattern: RegExp;
  validate?: (match: string) => boolean;
  /** Longest match this detector is meant to catch on streams (characters). */
  maxLength: number;
  /** Cheap necessary condition: false when the pattern cannot match text with these counts (skips the regex). */
  possible: (text: TextCounts) => boolean;
}

interface TextCounts {
  digits: number;
  /** ASCII capitals (an IBAN starts with two). */
  capitals: number;
  at: boolean;
}

function countsOf(text: string): TextCounts {
  let digits = 0;
  let capitals = 0;
  let at = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code >= 48 && code <= 57) digits++;
    else if (code >= 65 && code <= 90) capitals++;
    else if (code === 64) at = true;
  }
  return { digits, capitals, at };
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let index = digits.length - 1; index >= 0; index--) {
    let digit = digits.charCodeAt(index) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

export function ibanValid(text: string): boolean {
  const compact = text.replace(/ /g, '').toUpperCase();
  if (compact.length < 15 || compact.length > 34) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const value = char >= 'A' && char <= 'Z' ? String(char.charCodeAt(0) - 55) : char;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

const DETECTORS: readonly Detector[] = [
  {
    type: 'credit_card',
    pattern: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])/g,
    validate: (match) => {
      const digits = match.replace(/\D/g, '');
      return digits.length >= 13 && digits.length <= 19 && luhnValid(digits);
    },
    maxLength: 23,
    possible: (text) => text.digits >= 13,
  },
  {
    type: 'iban',
    pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g,
    validate: ibanValid,
    maxLength: 42,
    possible: (text) => text.digits >= 2 && text.capitals >= 2,
  },
  {
    type: 'ssn',
    pattern: /(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])/g,
    maxLength: 11,
    possible: (text) => text.digits >= 9,
  },
  {
    type: 'email',
    pattern: /(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![\w-])/g,
    maxLength: 48,
    possible: (text) => text.at,
  },
  {
    type: 'phone',
    pattern: /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]?\d{4}(?![\w])/g,
    maxLength: 20,
    possible: (text) => text.digits >= 10,
  },
];

/** Longest PII match the detectors of these types are meant to catch: the minimum safe hold-back window. */
export function longestPii(types: readonly PiiType[]): number {
  return Math.max(
    0,
    ...DETECTORS.filter((detector) => types.includes(detector.type)).map((detector) => detector.maxLength),
  );
}

/** Non-overlapping findings, earliest first (on overlap the earlier, then longer, match wins). */
export function findPii(
  text: string,
  types: readonly PiiType[],
  options: { pendingAtEnd?: boolean; /** Tests only: false runs every detector's regex. */ prefilter?: boolean } = {},
): Finding[] {
  const found: Finding[] = [];
  const counts = options.prefilter === false ? undefined : countsOf(text);
  for (const detector of DETECTORS) {
    if (!types.includes(detector.type) || (counts && !detector.possible(counts))) continue;
    const pattern = detector.pattern;
    pattern.lastIndex = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      const end = match.index + match[0].length;
      if (options.pendingAtEnd && end === text.length) {
        found.push({ type: detector.type, start: match.index, end, pending: true });
        continue;
      }
      if (!detector.validate || detector.validate(match[0])) {
        found.push({ type: detector.type, start: match.index, end });
        continue;
      }
      // The greedy match failed its check (e.g. a phone number run into the card after it, or a card followed by
      // more digits): a shorter match from the same start may be valid, and a match may start inside this one.
      const shorter = validPrefixEnd(detector, text, match.index, end);
      if (shorter !== undefined) {
        found.push({ type: detector.type, start: match.index, end: shorter });
        pattern.lastIndex = shorter;
      } else {
        pattern.lastIndex = match.index + 1;
      }
    }
  }
  if (found.length <= 1) return found;
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const result: Finding[] = [];
  let lastEnd = -1;
  for (const finding of found) {
    if (finding.start < lastEnd) continue;
    result.push(finding);
    lastEnd = finding.end;
  }
  return result;
}

const isAlphanumeric = (code: number): boolean =>
  (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
const stickyPatterns = new Map<RegExp, RegExp>();

/**
 * The end of the longest valid match starting at `start` and ending before `end` at a word boundary of the text
 * (after an alphanumeric, before a separator), or undefined. Runs only after a failed check, on a few candidates.
 */
function validPrefixEnd(detector: Detector, text: string, start: number, end: number): number | undefined {
  let sticky = stickyPatterns.get(detector.pattern);
  if (!sticky) {
    sticky = new RegExp(detector.pattern.source, 'y');
    stickyPatterns.set(detector.pattern, sticky);
  }
  for (let candidate = end - 1; candidate > start; candidate--) {
    if (isAlphanumeric(text.charCodeAt(candidate)) || !isAlphanumeric(text.charCodeAt(candidate - 1))) continue;
    sticky.lastIndex = start;
    const match = sticky.exec(text.slice(0, candidate));
    if (match && start + match[0].length === candidate && detector.validate?.(match[0])) return candidate;
  }
  return undefined;
}

export function redactionFor(type: string): string {
  return `[REDACTED:${type}]`;
}
