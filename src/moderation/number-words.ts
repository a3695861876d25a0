// Numbers spelled out in English, French, German, Spanish and Italian, as folded words (lower
// case, no accents, ß as "ss"). Phone numbers are read out digit by digit ("zero six one two"),
// in pairs ("zéro six, douze, trente-quatre") or mixed with digits, so the lexicon covers 0–99:
// units, teens, tens, and the languages' single-word compounds ("zweiundvierzig", "ventotto",
// "veintidós"). Multi-word forms ("soixante-dix-huit", "treinta y cuatro") are put together by
// the phone detector's reader from these parts.

export type NumberWordKind = "unit" | "teen" | "tens" | "compound";

export interface NumberWord {
  readonly value: number;
  readonly kind: NumberWordKind;
  /** French "quatre": with "vingt" makes 80. */
  readonly fourOfEighty?: boolean;
  /** French "vingt(s)": after "quatre" makes 80. */
  readonly twentyOfEighty?: boolean;
  /** French "soixante" (and 80): takes a teen to make 70–79 (90–99). */
  readonly takesTeen?: boolean;
  /** French "dix": takes "sept", "huit", "neuf" to make 17–19. */
  readonly tenTakesUnit?: boolean;
}

const UNITS: Record<number, readonly string[]> = {
  0: ["zero", "oh", "null", "cero"],
  1: ["one", "un", "une", "eins", "ein", "eine", "uno", "una"],
  2: ["two", "deux", "zwei", "zwo", "dos", "due"],
  3: ["three", "trois", "drei", "tres", "tre"],
  4: ["four", "quatre", "vier", "cuatro", "quattro"],
  5: ["five", "cinq", "funf", "fuenf", "cinco", "cinque"],
  6: ["six", "sechs", "seis", "sei"],
  7: ["seven", "sept", "sieben", "siete", "sette"],
  8: ["eight", "huit", "acht", "ocho", "otto"],
  9: ["nine", "neuf", "neun", "nueve", "nove"],
};

const TEENS: Record<number, readonly string[]> = {
  10: ["ten", "dix", "zehn", "diez", "dieci"],
  11: ["eleven", "onze", "elf", "once", "undici"],
  12: ["twelve", "douze", "zwolf", "zwoelf", "doce", "dodici"],
  13: ["thirteen", "treize", "dreizehn", "trece", "tredici"],
  14: ["fourteen", "quatorze", "vierzehn", "catorce", "quattordici"],
  15: ["fifteen", "quinze", "funfzehn", "fuenfzehn", "quince", "quindici"],
  16: ["sixteen", "seize", "sechzehn", "dieciseis", "sedici"],
  17: ["seventeen", "siebzehn", "diecisiete", "diciassette", "dixsept"],
  18: ["eighteen", "achtzehn", "dieciocho", "diciotto", "dixhuit"],
  19: ["nineteen", "neunzehn", "diecinueve", "diciannove", "dixneuf"],
};

const TENS: Record<number, readonly string[]> = {
  20: ["twenty", "vingt", "vingts", "zwanzig", "veinte", "venti"],
  30: ["thirty", "trente", "dreissig", "dreisig", "treinta", "trenta"],
  40: ["forty", "fourty", "quarante", "vierzig", "cuarenta", "quaranta"],
  50: ["fifty", "cinquante", "funfzig", "fuenfzig", "cincuenta", "cinquanta"],
  60: ["sixty", "soixante", "sechzig", "sesenta", "sessanta"],
  70: ["seventy", "septante", "siebzig", "setenta", "settanta"],
  80: ["eighty", "huitante", "octante", "achtzig", "ochenta", "ottanta"],
  90: ["ninety", "nonante", "neunzig", "noventa", "novanta"],
};

const lexicon = new Map<string, NumberWord>();
const add = (word: string, entry: NumberWord) => {
  if (!lexicon.has(word)) lexicon.set(word, entry);
};

for (const [v, words] of Object.entries(UNITS)) for (const w of words) add(w, { value: Number(v), kind: "unit" });
for (const [v, words] of Object.entries(TEENS)) for (const w of words) add(w, { value: Number(v), kind: "teen" });
for (const [v, words] of Object.entries(TENS)) for (const w of words) add(w, { value: Number(v), kind: "tens" });

// French specials, overriding the plain entries above.
lexicon.set("quatre", { value: 4, kind: "unit", fourOfEighty: true });
lexicon.set("vingt", { value: 20, kind: "tens", twentyOfEighty: true });
lexicon.set("vingts", { value: 20, kind: "tens", twentyOfEighty: true });
lexicon.set("soixante", { value: 60, kind: "tens", takesTeen: true });
lexicon.set("dix", { value: 10, kind: "teen", tenTakesUnit: true });

// Single-word compounds 21–99.
const unitsFor = (lang: (words: readonly string[]) => string | undefined) =>
  Array.from({ length: 9 }, (_, i) => lang(UNITS[i + 1]!));
// German: unit + "und" + tens ("einundzwanzig", "siebenundachtzig").
const deUnits = ["ein", "zwei", "drei", "vier", "funf", "sechs", "sieben", "acht", "neun"];
const deTens: Record<number, readonly string[]> = {
  20: ["zwanzig"], 30: ["dreissig", "dreisig"], 40: ["vierzig"], 50: ["funfzig", "fuenfzig"], 60: ["sechzig"],
  70: ["siebzig"], 80: ["achtzig"], 90: ["neunzig"],
};
for (const [t, tensWords] of Object.entries(deTens))
  deUnits.forEach((u, i) => {
    for (const tw of tensWords) {
      add(`${u}und${tw}`, { value: Number(t) + i + 1, kind: "compound" });
      if (u === "funf") add(`fuenfund${tw}`, { value: Number(t) + 5, kind: "compound" });
    }
  });
// Italian: tens stem + unit, the stem's last vowel elided before "uno" and "otto".
const itUnits = unitsFor((w) => w.find((x) => ["uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove"].includes(x)));
const itTens: Record<number, string> = { 20: "venti", 30: "trenta", 40: "quaranta", 50: "cinquanta", 60: "sessanta", 70: "settanta", 80: "ottanta", 90: "novanta" };
for (const [t, stem] of Object.entries(itTens))
  itUnits.forEach((u, i) => {
    if (!u) return;
    const word = u === "uno" || u === "otto" ? stem.slice(0, -1) + u : stem + u;
    add(word, { value: Number(t) + i + 1, kind: "compound" });
  });
// Spanish: "veinti" + unit ("veintidós"); 31–99 are written "treinta y uno".
const esUnits = ["uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"];
esUnits.forEach((u, i) => add(`veinti${u}`, { value: 21 + i, kind: "compound" }));
add("veintiun", { value: 21, kind: "compound" });
// English without the hyphen ("twentyone").
const enTens: Record<number, string> = { 20: "twenty", 30: "thirty", 40: "forty", 50: "fifty", 60: "sixty", 70: "seventy", 80: "eighty", 90: "ninety" };
const enUnits = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
for (const [t, w] of Object.entries(enTens)) enUnits.forEach((u, i) => add(w + u, { value: Number(t) + i + 1, kind: "compound" }));

/** Every number word and what it spells. */
export function numberWordEntries(): IterableIterator<[string, NumberWord]> {
  return lexicon.entries();
}

/** The number a folded word spells, if any. */
export function lookupNumberWord(word: string): NumberWord | undefined {
  return lexicon.get(word);
}

/** Words joining parts of one number: "vingt et un", "treinta y cuatro", "zwei und vierzig". */
export const NUMBER_CONNECTORS: ReadonlySet<string> = new Set(["et", "y", "und", "and", "e"]);

/** "double six" = 66, "triple zero" = 000. */
export const DIGIT_MULTIPLIERS: ReadonlyMap<string, number> = new Map([
  ["double", 2], ["triple", 3], ["doble", 2], ["doppio", 2], ["doppia", 2], ["doppel", 2],
]);

/** Words for "+" in front of a country code. */
export const PLUS_WORDS: ReadonlySet<string> = new Set(["plus", "piu", "mas"]);
