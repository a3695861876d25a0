// Numbers 0–99 written out as people write them in the corpus's five languages (with accents,
// hyphens and "et"/"y"/"und" as the languages have them). Independent of the detector's lexicon.
export type Lang = "en" | "fr" | "de" | "es" | "it";

const EN = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"];
const EN_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
const FR = ["zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze", "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf"];
const FR_TENS = ["", "", "vingt", "trente", "quarante", "cinquante", "soixante"];
const DE = ["null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn", "elf", "zwölf", "dreizehn", "vierzehn", "fünfzehn", "sechzehn", "siebzehn", "achtzehn", "neunzehn"];
const DE_TENS = ["", "", "zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig", "siebzig", "achtzig", "neunzig"];
const ES = [
  "cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez", "once", "doce", "trece", "catorce", "quince",
  "dieciséis", "diecisiete", "dieciocho", "diecinueve", "veinte", "veintiuno", "veintidós", "veintitrés", "veinticuatro", "veinticinco",
  "veintiséis", "veintisiete", "veintiocho", "veintinueve",
];
const ES_TENS = ["", "", "", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta", "noventa"];
const IT = ["zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove", "dieci", "undici", "dodici", "tredici", "quattordici", "quindici", "sedici", "diciassette", "diciotto", "diciannove"];
const IT_TENS = ["", "", "venti", "trenta", "quaranta", "cinquanta", "sessanta", "settanta", "ottanta", "novanta"];

export function digitWord(d: number, lang: Lang): string {
  return { en: EN, fr: FR, de: DE, es: ES, it: IT }[lang][d]!;
}

export function numberWords(n: number, lang: Lang): string {
  const t = Math.floor(n / 10);
  const r = n % 10;
  switch (lang) {
    case "en":
      return n < 20 ? EN[n]! : r === 0 ? EN_TENS[t]! : `${EN_TENS[t]}-${EN[r]}`;
    case "fr":
      if (n < 20) return FR[n]!;
      if (n < 70) return r === 0 ? FR_TENS[t]! : r === 1 ? `${FR_TENS[t]} et un` : `${FR_TENS[t]}-${FR[r]}`;
      if (n < 80) return n === 71 ? "soixante et onze" : `soixante-${FR[n - 60]}`;
      return n === 80 ? "quatre-vingts" : `quatre-vingt-${FR[n - 80]}`;
    case "de":
      if (n < 20) return DE[n]!;
      return r === 0 ? DE_TENS[t]! : `${r === 1 ? "ein" : DE[r]}und${DE_TENS[t]}`;
    case "es":
      if (n < 30) return ES[n]!;
      return r === 0 ? ES_TENS[t]! : `${ES_TENS[t]} y ${ES[r]}`;
    case "it": {
      if (n < 20) return IT[n]!;
      const tens = IT_TENS[t]!;
      if (r === 0) return tens;
      if (r === 1 || r === 8) return tens.slice(0, -1) + IT[r];
      if (r === 3) return `${tens}tré`;
      return tens + IT[r];
    }
  }
}
