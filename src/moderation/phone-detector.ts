// Phone numbers in folded text (see text-folding.ts), written plainly or disguised: digits with
// any separators, spaces, dots or emoji between them, digits spelled out in five languages and
// mixed with real digits, "O" for 0, "+" or "plus" in front of the country code.
//
// How: the text is cut into words; a "run" is a sequence of number words and digit groups joined
// only by separator characters. Inside a run, the longest sequence of whole groups whose digits
// form a valid phone number (phone-validator.ts: libphonenumber-js numbering plans) is a phone.
// Before that, what marketplace messages are full of is blanked out so that it can neither be a
// phone nor glue two digit groups into one: dates, times, prices, size lists, IBANs, and the
// identifier after words like "order", "tracking", "IMEI" or "ref".
import { DIGIT_MULTIPLIERS, NUMBER_CONNECTORS, PLUS_WORDS, numberWordEntries, type NumberWord } from "./number-words.js";
import { isValidPhoneDigits } from "./phone-validator.js";

/** A range of the folded text, end exclusive. */
export interface FoldedRange {
  start: number;
  end: number;
}

/** Marks characters that no detector may use (protected or ignored text). Not a separator. */
export const BLANK = "\u0001";

// Identifier keywords: the alphanumeric code after them is an order, parcel, product or bank
// number, never a phone ("tracking 1Z 999 AA1 01 2345 6784", "IMEI 356938035643809").
const IDENTIFIER_KEYWORDS = [
  "order", "orders", "tracking", "track", "trackingnummer", "parcel", "shipment", "invoice", "ref", "reference",
  "sku", "ean", "upc", "isbn", "imei", "serial", "sn", "model", "modele", "modell", "modelo", "iban", "bic", "swift",
  "commande", "suivi", "colis", "facture", "serie", "siret", "siren", "tva", "vat", "ust", "ustid", "bestellung",
  "bestellnummer", "sendung", "sendungsnummer", "sendungsnr", "paket", "paketnummer", "rechnung", "artikelnummer",
  "referenz", "seriennummer", "pedido", "seguimiento", "envio", "factura", "referencia", "numero de serie",
  "ordine", "tracciamento", "spedizione", "fattura", "riferimento", "codice", "code", "transaction", "transaktion",
  "ticket", "lot", "batch", "annonce", "anzeige", "anuncio", "annuncio", "listing", "item", "article", "artikel",
  "articulo", "articolo", "iva", "piva", "partita", "cf", "fiscale", "nif", "cif", "nie", "dni", "steuernummer",
  "steuer", "ustidnr", "ust-id", "ust-idnr", "ein", "ssn", "nir", "kundennummer", "client", "customer", "membership",
];

const PROTECTED: readonly RegExp[] = [
  // Identifier after a keyword, possibly with "number", "n°", "nr", "#", ":" in between; then
  // alphanumeric chunks, the ones after the first containing a digit.
  new RegExp(
    `(?<![a-z0-9])(?:${IDENTIFIER_KEYWORDS.join("|")})(?:\\s*(?:number|no|nr|nummer|numero|num|n°|n|#|id|code|nb))?(?:\\s+(?:is|est|ist|es|e|:))?` +
      `[\\s.:#°-]{0,4}[a-z0-9]*\\d[a-z0-9]*(?:[ /-](?=[a-z]*\\d)[a-z0-9]+)*`,
    "g",
  ),
  // Dates: 12/05/2024, 12.05.24, 2024-05-12 (not part of a longer chain of digit groups).
  /(?<![\d./-])\d{1,2}(?:\.\d{1,2}\.|\/\d{1,2}\/|-\d{1,2}-)(?:\d{4}|\d{2})(?![\d]|[./-]\d)/g,
  /(?<![\d./-])\d{4}(?:\.\d{1,2}\.|\/\d{1,2}\/|-\d{1,2}-)\d{1,2}(?![\d]|[./-]\d)/g,
  // Times: 14:30, 9:05:00.
  /(?<![\d:])\d{1,2}:\d{2}(?::\d{2})?(?![\d:])/g,
  // Prices with a currency sign: €1,250 / 1.250,00 € / $99 / 1 250 €.
  /[€$£¥]\s?\d{1,3}(?:[ .,']\d{3})*(?:[.,]\d{1,2})?(?![\d])/g,
  /[€$£¥]\s?\d+(?:[.,]\d{1,2})?(?![\d])/g,
  /(?<![\d.,])\d{1,3}(?:[ .,']\d{3})*(?:[.,]\d{1,2}|[.,]-)?\s?[€$£¥]/g,
  /(?<![\d.,])\d+(?:[.,]\d{1,2})?\s?[€$£¥]/g,
  // Size lists: "EU 42", "sizes 38, 39 or 40", "taille 38-40".
  // (Sizes never start with 0, phone groups often do: "numéro 06 12…" is no size list.)
  /(?<![a-z])(?:sizes?|taille|tailles|pointure|pointures|grosse|groesse|grossen|gr|talla|tallas|taglia|taglie|eu|uk|us)\.?\s*:?\s*[1-9]\d?(?:[.,]5)?(?:\s*(?:[-/,;]|\s|and|et|und|y|e|o|ou|oder|or|bis|to|a)\s*[1-9]\d?(?:[.,]5)?)*(?!\d)/g,
  // IBAN.
  /(?<![a-z0-9])[a-z]{2}\d{2}(?:\s?[a-z0-9]{4}){2,7}(?:\s?[a-z0-9]{1,4})?(?![a-z0-9])/g,
  // US ZIP+4.
  /(?<![\d-])\d{5}-\d{4}(?![\d-])/g,
];

// One pass over the text for all of them.
const PROTECTED_ANY = new RegExp(PROTECTED.map((re) => `(?:${re.source})`).join("|"), "g");
const HAS_DIGIT = /\d/;

/** The folded text with protected spans blanked (same length, so offsets still hold). */
export function blankProtected(text: string): string {
  return HAS_DIGIT.test(text) ? text.replace(PROTECTED_ANY, blankOf) : text;
}

export function blankOf(match: string): string {
  return BLANK.repeat(match.length);
}

// Letters glued in front of a number that say "phone": "tel0612345678", "wa+33…".
const PHONE_PREFIXES = new Set(["tel", "tl", "phone", "mob", "mobile", "cell", "num", "no", "nr", "handy", "telefon", "telefono", "movil", "cel", "portable", "call", "wa", "whatsapp", "sms"]);

type Token =
  | { type: "digits"; digits: string; start: number; end: number }
  | { type: "word"; word: NumberWord; start: number; end: number }
  | { type: "connector"; text: string; start: number; end: number }
  | { type: "multiplier"; times: number; start: number; end: number }
  | { type: "plus"; start: number; end: number };

interface Group {
  digits: string;
  start: number;
  end: number;
  /** A "+" (or "plus") stands right before this group. */
  plus: boolean;
  /** Plain digits, not a spelled-out number. */
  numeric: boolean;
  /** Joined to the group before without a space ("302-8859114", "06.12"): one written number. */
  tightBefore: boolean;
  /** Looks like the start of another number: after a line break, or opening with "0" or "+". */
  startsNumber: boolean;
}

function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
}
const ONLY_DIGITS = /^\d+$/;
const HOMOGLYPH_DIGITS = /^[0-9oil]*\d[0-9oil]*$/;
const PREFIXED_DIGITS = /^([a-z]+)(\d+)$/;
const BAD_GAP = /[\p{L}\u0001]|\n.*\n/su;
const LIST_COMMA = /[,;]/;

function hasDigit(word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}

function classify(word: string, start: number): Token | null {
  const end = start + word.length;
  if (!hasDigit(word)) {
    const special = SPECIAL_WORDS.get(word);
    return special ? special(start, end) : null;
  }
  if (ONLY_DIGITS.test(word)) return { type: "digits", digits: word, start, end };
  return classifyWithDigits(word, start, end);
}

// Every word without digits that can be part of a phone number, and the token it makes.
const SPECIAL_WORDS = new Map<string, (start: number, end: number) => Token>();
for (const w of PLUS_WORDS) SPECIAL_WORDS.set(w, (start, end) => ({ type: "plus", start, end }));
for (const [w, times] of DIGIT_MULTIPLIERS) SPECIAL_WORDS.set(w, (start, end) => ({ type: "multiplier", times, start, end }));
for (const w of NUMBER_CONNECTORS) SPECIAL_WORDS.set(w, (start, end) => ({ type: "connector", text: w, start, end }));
for (const [w, entry] of numberWordEntries()) SPECIAL_WORDS.set(w, (start, end) => ({ type: "word", word: entry, start, end }));

function classifyWithDigits(word: string, start: number, end: number): Token | null {
  // "O6 l2 34…": o/i/l for 0/1 inside digits (not a trailing unit as in "10l").
  if (HOMOGLYPH_DIGITS.test(word) && /\d$/.test(word) && word.length >= 2) {
    const letters = word.length - word.replace(/[oil]/g, "").length;
    if (letters * 2 <= word.length) return { type: "digits", digits: word.replace(/o/g, "0").replace(/[il]/g, "1"), start, end };
  }
  const m = PREFIXED_DIGITS.exec(word);
  if (m && PHONE_PREFIXES.has(m[1]!)) return { type: "digits", digits: m[2]!, start: start + m[1]!.length, end };
  return null;
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** At most how many digits a run's tokens can spell: runs below MIN_DIGITS are not read. */
function mostDigits(run: readonly Token[]): number {
  let n = 0;
  for (const t of run) n += t.type === "digits" ? t.digits.length : t.type === "word" ? 2 : t.type === "multiplier" ? t.times : 0;
  return n;
}

/** A word's tokens: one, or two for a number word glued to digits ("zero6", "06douze"). */
function classifyWord(word: string, start: number): Token[] | null {
  const token = classify(word, start);
  if (token) return [token];
  // Letters then digits, or digits then letters: one switch between the two.
  let cut = -1;
  for (let i = 1; i < word.length; i++) {
    if (isDigitCode(word.charCodeAt(i)) === isDigitCode(word.charCodeAt(i - 1))) continue;
    if (cut >= 0) return null;
    cut = i;
  }
  if (cut < 0) return null;
  const first = word.slice(0, cut);
  const second = word.slice(cut);
  const a = classify(first, start);
  const b = classify(second, start + first.length);
  return a && b && (a.type === "word" || b.type === "word") ? [a, b] : null;
}

/** Reads one number (a digit group or a spelled number of one or more words) at tokens[k]. */
function readNumber(tokens: readonly Token[], k: number): { digits: string; next: number } | null {
  const t = tokens[k]!;
  if (t.type === "digits") return { digits: t.digits, next: k + 1 };
  if (t.type === "multiplier") {
    const n = tokens[k + 1];
    if (n?.type === "word" && n.word.kind === "unit") return { digits: String(n.word.value).repeat(t.times), next: k + 2 };
    if (n?.type === "digits" && n.digits.length === 1) return { digits: n.digits.repeat(t.times), next: k + 2 };
    return null;
  }
  if (t.type !== "word") return null;
  const w = t.word;
  let base: number;
  let takesTeen = false;
  let j: number;
  if (w.fourOfEighty && tokens[k + 1]?.type === "word" && (tokens[k + 1] as { word: NumberWord }).word.twentyOfEighty) {
    base = 80; // quatre-vingt(s)
    takesTeen = true;
    j = k + 2;
  } else if (w.kind === "unit") {
    // German written apart: "zwei und vierzig".
    const c = tokens[k + 1];
    const tens = tokens[k + 2];
    if (w.value > 0 && c?.type === "connector" && c.text === "und" && tens?.type === "word" && tens.word.kind === "tens")
      return { digits: String(tens.word.value + w.value), next: k + 3 };
    return { digits: String(w.value), next: k + 1 };
  } else if (w.kind === "teen") {
    const n = tokens[k + 1];
    if (w.tenTakesUnit && n?.type === "word" && n.word.kind === "unit" && n.word.value >= 7) return { digits: String(10 + n.word.value), next: k + 2 };
    return { digits: String(w.value), next: k + 1 };
  } else if (w.kind === "compound") {
    return { digits: String(w.value), next: k + 1 };
  } else {
    base = w.value;
    takesTeen = !!w.takesTeen;
    j = k + 1;
  }
  // Tens, then maybe a connector ("et", "y", "and"), then a unit (or, in French, a teen).
  let m = j;
  const c = tokens[m];
  if (c?.type === "connector" && c.text !== "und") m++;
  const n = tokens[m];
  if (n?.type === "word") {
    if (n.word.kind === "unit" && n.word.value > 0) return { digits: String(base + n.word.value), next: m + 1 };
    if (takesTeen && n.word.kind === "teen") {
      const after = tokens[m + 1];
      if (n.word.tenTakesUnit && after?.type === "word" && after.word.kind === "unit" && after.word.value >= 7)
        return { digits: String(base + 10 + after.word.value), next: m + 2 };
      return { digits: String(base + n.word.value), next: m + 1 };
    }
  }
  return { digits: String(base), next: j };
}

export interface PhoneDetectOptions {
  regions: readonly string[];
}

const MIN_DIGITS = 8;
const MAX_DIGITS = 15;

/** Phone spans in `view` (folded text with protected parts blanked), as folded ranges. */
export function detectPhones(view: string, options: PhoneDetectOptions): FoldedRange[] {
  const found: FoldedRange[] = [];
  let run: Token[] = [];
  let prevEnd = -1;
  const flush = () => {
    if (run.length > 0 && mostDigits(run) >= MIN_DIGITS) readRun(view, run, options, found);
    run = [];
  };
  // Words are runs of [a-z0-9] (the folded text has no other letters worth reading here).
  for (let at = 0; at < view.length; ) {
    const c = view.charCodeAt(at);
    if (!isWordChar(c)) {
      at++;
      continue;
    }
    let end = at + 1;
    while (end < view.length && isWordChar(view.charCodeAt(end))) end++;
    const wordStart = at;
    at = end;
    const tokens = classifyWord(view.slice(wordStart, end), wordStart);
    if (!tokens) {
      flush();
      prevEnd = -1;
      continue;
    }
    for (const token of tokens) {
      if (run.length > 0) {
        const gap = view.slice(prevEnd, token.start);
        const prev = run[run.length - 1]!;
        if (gap.length > 8 || BAD_GAP.test(gap) || (LIST_COMMA.test(gap) && prev.type === "digits" && token.type === "digits")) flush();
      }
      run.push(token);
      prevEnd = token.end;
    }
  }
  flush();
  return found;
}

function readRun(view: string, tokens: readonly Token[], options: PhoneDetectOptions, found: FoldedRange[]): void {
  // Turn the tokens into digit groups; a token that fits no number (a stray connector) splits.
  let groups: Group[] = [];
  let plusPending = false;
  let plusStart = -1;
  let k = 0;
  while (k < tokens.length) {
    const t = tokens[k]!;
    if (t.type === "plus") {
      plusPending = true;
      plusStart = t.start;
      k++;
      continue;
    }
    const read = readNumber(tokens, k);
    if (!read) {
      searchGroups(view, groups, options, found);
      groups = [];
      plusPending = false;
      k++;
      continue;
    }
    let start = t.start;
    let plus = false;
    if (plusPending) {
      plus = true;
      start = plusStart;
      plusPending = false;
    } else {
      // "+33", "(+33)", "+ 33": a plus sign just before the group.
      for (let b = t.start - 1; b >= 0 && b >= t.start - 3; b--) {
        const c = view[b];
        if (c === "+") {
          plus = true;
          start = b;
          break;
        }
        if (c !== " " && c !== "(") break;
      }
    }
    const previous = groups[groups.length - 1];
    const gap = previous === undefined ? "" : view.slice(previous.end, start);
    const tightBefore = previous !== undefined && !/\s/.test(gap);
    const startsNumber = gap.includes("\n") || plus || read.digits.startsWith("0");
    groups.push({ digits: read.digits, start, end: tokens[read.next - 1]!.end, plus, numeric: t.type === "digits", tightBefore, startsNumber });
    k = read.next;
  }
  searchGroups(view, groups, options, found);
}

function searchGroups(view: string, groups: readonly Group[], options: PhoneDetectOptions, found: FoldedRange[]): void {
  const n = groups.length;
  if (n === 0) return;
  let total = 0;
  for (const g of groups) total += g.digits.length;
  if (total < MIN_DIGITS) return;
  let i = 0;
  while (i < n) {
    // A number written in one piece ("302-8859114-6612345", "06.12.34.56.78") is taken whole or
    // not at all: a window neither starts nor ends inside it.
    if (i > 0 && groups[i]!.tightBefore) {
      i++;
      continue;
    }
    // Windows of whole groups starting at i, longest first. The longest valid one wins, unless a
    // shorter valid one ends where a new number visibly starts (a line break, i.e. the next
    // message, or a group opening with "0" or "+"): "06 12 34 56 78 06 98 76 54 32" is two.
    let length = 0;
    let j = i;
    while (j < n && length + groups[j]!.digits.length <= MAX_DIGITS + 2) length += groups[j++]!.digits.length;
    let best = -1;
    for (j = j - 1; j >= i && length >= MIN_DIGITS; length -= groups[j--]!.digits.length) {
      const next = groups[j + 1];
      if (next?.tightBefore || looksLikeList(groups, i, j)) continue;
      let digits = "";
      for (let g = i; g <= j; g++) digits += groups[g]!.digits;
      const international = groups[i]!.plus;
      const national = international ? digits : digits.replace(/^00/, "");
      if (national.length > MAX_DIGITS || !isValidPhoneDigits(digits, international, options.regions)) continue;
      const clearEnd = next === undefined || next.startsNumber;
      if (best < 0) best = j;
      if (clearEnd) {
        best = j;
        break;
      }
    }
    if (best < 0) {
      i++;
      continue;
    }
    found.push(withParenthesis(view, groups[i]!.start, groups[best]!.end));
    i = best + 1;
  }
}

// "(212) 555-1234": the opening parenthesis goes with the number it opens.
function withParenthesis(view: string, start: number, end: number): FoldedRange {
  if (view[start - 1] === "(") {
    const inside = view.slice(start, end);
    const close = inside.indexOf(")");
    if (close >= 0 && !inside.slice(0, close).includes("(")) return { start: start - 1, end };
  }
  return { start, end };
}

// "38 39 40 41", "2 4 6 8 10 12": an evenly stepped list of plain numbers (sizes, quantities).
function looksLikeList(groups: readonly Group[], i: number, j: number): boolean {
  if (j - i < 3) return false;
  let step: number | null = null;
  for (let g = i + 1; g <= j; g++) {
    const a = groups[g - 1]!;
    const b = groups[g]!;
    if (!a.numeric || !b.numeric) return false;
    const d = Number(b.digits) - Number(a.digits);
    if (step === null) step = d;
    else if (d !== step) return false;
  }
  return step !== null && step >= 1 && step <= 5;
}
