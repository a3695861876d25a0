// Folds message text into the form the contact detectors read: lower case, no accents, no
// invisible characters, compatibility forms (full-width, mathematical alphanumerics, circled and
// super/subscript digits) and look-alike letters (Cyrillic, Greek) turned into plain ASCII, keycap
// emoji turned into their digit. Every folded character remembers the UTF-16 range of the original
// character it came from, so a span found in the folded text maps back to the original offsets.

/** The folded text and its index map back to the original string. */
export interface FoldedText {
  readonly text: string;
  /** Original start offset of folded character `i` (`i === text.length` gives the original length). */
  originalStart(i: number): number;
  /** Original end offset (exclusive) of folded character `i`. */
  originalEnd(i: number): number;
  /** The first folded index whose original start is at or after `originalOffset`. */
  foldedIndex(originalOffset: number): number;
}

// Zero-width and formatting characters that render as nothing: dropped. FE0F/FE0E (emoji
// variation selectors) and 20E3 (combining enclosing keycap) are dropped too, so "6️⃣" reads "6".
const INVISIBLE =
  /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u20e3\u3164\ufe00-\ufe0f\ufeff\uffa0\u{1d173}-\u{1d17a}\u{e0000}-\u{e007f}]/u;

// Letters that look like Latin ones (after lower-casing), and a few punctuation look-alikes.
// NFKC leaves these alone because they are distinct letters of their own scripts.
const CONFUSABLES: Readonly<Record<string, string>> = {
  // Cyrillic
  а: "a", в: "b", е: "e", ё: "e", з: "3", к: "k", м: "m", н: "h", о: "o", р: "p", с: "c", т: "t",
  у: "y", х: "x", ѕ: "s", і: "i", ї: "i", ј: "j", ԁ: "d", ԛ: "q", ԝ: "w", ɡ: "g", ӏ: "l", һ: "h",
  ь: "b", п: "n", г: "r", д: "d", л: "n", ц: "u", и: "u", ъ: "b", ѵ: "v",
  // Greek
  α: "a", β: "b", γ: "y", δ: "d", ε: "e", ζ: "z", η: "n", ι: "i", κ: "k", μ: "u", ν: "v", ο: "o",
  ρ: "p", σ: "o", ς: "c", τ: "t", υ: "u", χ: "x", ω: "w", ϲ: "c", ϳ: "j",
  // Latin letters from other blocks and IPA
  ı: "i", ȷ: "j", ɑ: "a", ɩ: "i", ʏ: "y", ᴀ: "a", ᴄ: "c", ᴅ: "d", ᴇ: "e", ᴊ: "j", ᴋ: "k", ᴍ: "m",
  ᴏ: "o", ᴘ: "p", ᴛ: "t", ᴜ: "u", ᴠ: "v", ᴡ: "w", ᴢ: "z", ꜱ: "s", ʀ: "r", ɴ: "n", ʜ: "h", ʟ: "l",
  ß: "ss", æ: "ae", œ: "oe", ø: "o", đ: "d", ł: "l", ŀ: "l", þ: "th",
  // Punctuation that stands in for "@", "." and "-"
  "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "\u3002": ".", "\uff61": ".",
  "\u2024": ".", "\u2027": ".", "\u00b7": ".", "\u2010": "-", "\u2011": "-", "\u2012": "-",
  "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2043": "-", "\u00a0": " ", "\u202f": " ",
  "\u2007": " ", "\u2009": " ", "\u200a": " ", "\u2002": " ", "\u2003": " ", "\u3000": " ",
  "\u00d7": "x",
};

const COMBINING_MARK = /\p{M}/gu;
const ASCII_ONLY = /^[\x00-\x7f]*$/;

// Folding a code point costs a few string operations: done once per distinct code point.
const foldCache = new Map<number, string>();

function foldCodePoint(cp: number): string {
  let out = foldCache.get(cp);
  if (out !== undefined) return out;
  const ch = String.fromCodePoint(cp);
  if (INVISIBLE.test(ch)) out = "";
  else {
    const direct = CONFUSABLES[ch];
    if (direct !== undefined) out = direct;
    else {
      out = "";
      const decomposed = ch.normalize("NFKC").toLowerCase().normalize("NFD").replace(COMBINING_MARK, "");
      for (const c of decomposed) out += CONFUSABLES[c] ?? c;
    }
  }
  if (foldCache.size < 20_000) foldCache.set(cp, out);
  return out;
}

class IdentityFolded implements FoldedText {
  constructor(readonly text: string) {}
  originalStart(i: number): number {
    return i;
  }
  originalEnd(i: number): number {
    return i + 1;
  }
  foldedIndex(originalOffset: number): number {
    return originalOffset;
  }
}

class MappedFolded implements FoldedText {
  constructor(
    readonly text: string,
    private readonly starts: Int32Array,
    private readonly ends: Int32Array,
    private readonly originalLength: number,
  ) {}
  originalStart(i: number): number {
    return i >= this.text.length ? this.originalLength : this.starts[i]!;
  }
  originalEnd(i: number): number {
    return i >= this.text.length ? this.originalLength : this.ends[i]!;
  }
  foldedIndex(originalOffset: number): number {
    let lo = 0;
    let hi = this.text.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! < originalOffset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

const NON_ASCII = /[^\x00-\x7f]/g;

/** Folds `text` (see the module comment). Plain ASCII text only gets lower-cased (same offsets). */
export function foldText(text: string): FoldedText {
  if (ASCII_ONLY.test(text)) return new IdentityFolded(text.toLowerCase());
  let out = "";
  let capacity = text.length + 16;
  let starts = new Int32Array(capacity);
  let ends = new Int32Array(capacity);
  let n = 0;
  const reserve = (extra: number) => {
    if (n + extra <= capacity) return;
    capacity = (n + extra) * 2;
    const s2 = new Int32Array(capacity);
    const e2 = new Int32Array(capacity);
    s2.set(starts.subarray(0, n));
    e2.set(ends.subarray(0, n));
    starts = s2;
    ends = e2;
  };
  let i = 0;
  NON_ASCII.lastIndex = 0;
  while (i < text.length) {
    // A run of ASCII: lower-cased as a whole, one folded character per original one.
    const m = NON_ASCII.exec(text);
    const k = m ? m.index : text.length;
    if (k > i) {
      out += text.slice(i, k).toLowerCase();
      reserve(k - i);
      for (let j = i; j < k; j++, n++) {
        starts[n] = j;
        ends[n] = j + 1;
      }
      i = k;
    }
    if (!m) break;
    const cp = text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    const folded = foldCodePoint(cp);
    // A dropped character (invisible, keycap mark) belongs to the character before it, so a
    // masked span takes it along instead of leaving it dangling.
    if (folded.length === 0 && n > 0) ends[n - 1] = i + width;
    reserve(folded.length);
    for (let j = 0; j < folded.length; j++, n++) {
      starts[n] = i;
      ends[n] = i + width;
    }
    out += folded;
    i += width;
    NON_ASCII.lastIndex = i;
  }
  return new MappedFolded(out, starts.subarray(0, n), ends.subarray(0, n), text.length);
}
