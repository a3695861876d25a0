// Ways people hide a contact detail from a filter, applied to an already written string.
import type { Rng } from "./rng.js";

export const INVISIBLES = ["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\u200e", "\u200f", "\ufeff"];
export const SEPARATOR_EMOJI = ["🔥", "⭐", "👉", "📞", "✨", "💬", "🙂", "❤️", "🔸", "🌸", "✅", "📱", "➖", "•", "☎️"];

export function keycaps(s: string): string {
  return s.replace(/\d/g, (d) => `${d}\ufe0f\u20e3`);
}

export function fullwidth(s: string): string {
  return s.replace(/[0-9+@.]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
}

export function mathBold(s: string): string {
  return s.replace(/\d/g, (d) => String.fromCodePoint(0x1d7ce + Number(d)));
}

export function mathMonospace(s: string): string {
  return s.replace(/\d/g, (d) => String.fromCodePoint(0x1d7f6 + Number(d)));
}

export function mathSansBoldLetters(s: string): string {
  return s.replace(/[a-z]/g, (c) => String.fromCodePoint(0x1d5ee + c.charCodeAt(0) - 97));
}

/** "O" for 0 and "l"/"I" for 1, on some of them. */
export function letterDigits(s: string, rng: Rng): string {
  return s.replace(/[01]/g, (d) => (rng.chance(0.7) ? (d === "0" ? rng.pick(["O", "o"]) : rng.pick(["l", "I"])) : d));
}

export function insertInvisibles(s: string, rng: Rng, every = 1): string {
  let out = "";
  let n = 0;
  for (const ch of s) {
    out += ch;
    if (/[0-9a-zA-Z@.]/.test(ch) && ++n % every === 0 && rng.chance(0.85)) out += rng.pick(INVISIBLES);
  }
  return out;
}

const CYRILLIC: Record<string, string> = { a: "а", e: "е", o: "о", c: "с", p: "р", x: "х", y: "у", i: "і", s: "ѕ" };
const GREEK: Record<string, string> = { o: "ο", a: "α", i: "ι", v: "ν", t: "τ", k: "κ" };

/** Replace some Latin letters with Cyrillic or Greek look-alikes. */
export function homoglyphs(s: string, rng: Rng, share = 0.5): string {
  const table = rng.chance(0.7) ? CYRILLIC : GREEK;
  return s.replace(/[a-z]/g, (c) => (table[c] && rng.chance(share) ? table[c]! : c));
}

/** Digits with a separator between each. */
export function everyDigit(s: string, sep: string): string {
  return [...s.replace(/\D/g, "")].join(sep);
}
