// PII detectors: credit cards (13–19 digits, Luhn-checked), US SSNs, e-mail addresses, phone numbers and IBANs
// (ISO 13616 mod-97 checked). Each detector also states the longest text it can match, which the stream guard's
// hold-back window must cover for a split secret to be caught.
import type { PiiType } from '../config.ts';

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
  },
  {
    type: 'iban',
    pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g,
    validate: ibanValid,
    maxLength: 42,
  },
  {
    type: 'ssn',
    pattern: /(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])/g,
    maxLength: 11,
  },
  {
    type: 'email',
    pattern: /(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![\w-])/g,
    maxLength: 48,
  },
  {
    type: 'phone',
    pattern: /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]?\d{4}(?![\w])/g,
    maxLength: 20,
  },
];

/** Longest PII match the detectors of these types are meant to catch: the minimum safe hold-back window. */
export function longestPii(types: readonly PiiType[]): number {
  return Math.max(0, ...DETECTORS.filter((detector) => types.includes(detector.type)).map((detector) => detector.maxLength));
}

/** Non-overlapping findings, earliest first (on overlap the earlier, then longer, match wins). */
export function findPii(text: string, types: readonly PiiType[], options: { pendingAtEnd?: boolean } = {}): Finding[] {
  const found: Finding[] = [];
  for (const detector of DETECTORS) {
    if (!types.includes(detector.type)) continue;
    detector.pattern.lastIndex = 0;
    for (const match of text.matchAll(detector.pattern)) {
      const end = match.index + match[0].length;
      if (options.pendingAtEnd && end === text.length) {
        found.push({ type: detector.type, start: match.index, end, pending: true });
        continue;
      }
      if (detector.validate && !detector.validate(match[0])) continue;
      found.push({ type: detector.type, start: match.index, end });
    }
  }
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

export function redactionFor(type: string): string {
  return `[REDACTED:${type}]`;
}
