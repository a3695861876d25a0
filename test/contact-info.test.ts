// The contact-detail detector (src/moderation/contact-info.ts and the modules it uses): pure
// functions, no database. Each disguise, each class of hard negative, offsets back into the
// original text, masking, numbers split over messages, and the labelled corpus as a quality gate.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CONTACT_MASK,
  detectAcrossMessages,
  detectContactInfo,
  detectSplitContactInfo,
  maskContactInfo,
  normalizeForDuplicates,
  type ContactDetectorOptions,
  type ContactKind,
} from "../src/moderation/contact-info.js";
import { foldText } from "../src/moderation/text-folding.js";
import { loadCorpus, evaluate, score } from "./support/contact-corpus.js";

const options: ContactDetectorOptions = { allowedDomains: ["mymarket.com"] };

/** The detected parts of `text`, as written. */
function found(text: string, opts: ContactDetectorOptions = options): { kind: ContactKind; text: string }[] {
  return detectContactInfo(text, opts).map((s) => ({ kind: s.kind, text: text.slice(s.start, s.end) }));
}

function kinds(text: string, opts: ContactDetectorOptions = options): ContactKind[] {
  return detectContactInfo(text, opts).map((s) => s.kind);
}

describe("phone numbers", () => {
  it.each([
    ["Appelle-moi au 06 12 34 56 78 ce soir", "06 12 34 56 78"],
    ["Meine Nummer: 0171 1234567", "0171 1234567"],
    ["Llámame al 612 345 678", "612 345 678"],
    ["chiamami al 347 123 4567", "347 123 4567"],
    ["ring me on 07912 345678", "07912 345678"],
    ["Call me: (212) 555-1234", "(212) 555-1234"],
    ["tel0612345678", "0612345678"],
  ])("national numbers of the five languages' countries: %s", (text, number) => {
    expect(found(text)).toEqual([{ kind: "phone", text: number }]);
  });

  it.each([
    ["+33 6 12 34 56 78", "+33 6 12 34 56 78"],
    ["whatsapp +4917612345678 pls", "+4917612345678"],
    ["0033 6 12 34 56 78", "0033 6 12 34 56 78"],
    ["+49 (0)171 1234567", "+49 (0)171 1234567"],
    ["(+34) 612 34 56 78", "(+34) 612 34 56 78"],
    ["+1 415 555 2671", "+1 415 555 2671"],
    ["+81 90 1234 5678 (Japan)", "+81 90 1234 5678"],
  ])("international numbers, any country: %s", (text, number) => {
    expect(found(text)).toEqual([{ kind: "phone", text: number }]);
  });

  it.each([
    "06.12.34.56.78",
    "06-12-34-56-78",
    "0171/1234567",
    "0 6 1 2 3 4 5 6 7 8",
    "06 . 12 . 34 . 56 . 78",
    "06_12_34_56_78",
    "06🔥12🔥34🔥56🔥78",
    "06 ✨ 12 ✨ 34 ✨ 56 ✨ 78",
    "0️⃣6️⃣1️⃣2️⃣3️⃣4️⃣5️⃣6️⃣7️⃣8️⃣",
    "06:12:34:56:78",
  ])("separators, spaces and emoji between digits: %s", (number) => {
    expect(found(`mon numéro ${number} merci`)).toEqual([{ kind: "phone", text: number }]);
  });

  it.each([
    ["en", "zero seven nine one two three four five six seven eight"],
    ["en", "oh seven four five six, one two three, four five six"],
    ["en", "oh seven nine double one two three four five six seven"],
    ["fr", "zéro six douze trente-quatre cinquante-six soixante-dix-huit"],
    ["fr", "zéro six, quatre-vingt-dix-huit, soixante-seize, cinquante-quatre, trente-deux"],
    ["fr", "zéro six vingt et un soixante et onze quatre-vingts quatre-vingt-dix-neuf"],
    ["de", "null eins sieben eins, eins zwei drei vier fünf sechs sieben"],
    ["de", "null eins sieben sechs zweiundvierzig dreiundzwanzig neunundneunzig zwei eins"],
    ["de", "null eins sieben sechs zwei und vierzig dreißig fünfzig zwölf"],
    ["es", "seis uno dos tres cuatro cinco seis siete ocho"],
    ["es", "seis doce treinta y cuatro cincuenta y seis setenta y ocho"],
    ["es", "seis veintidós treinta y cuatro cincuenta y seis dieciséis"],
    ["it", "tre quattro sette uno due tre quattro cinque sei sette"],
    ["it", "tre quattro sette, dieci, trentaquattro, ventotto, sessantuno"],
    ["fr", "plus trente-trois six douze trente-quatre cinquante-six soixante-dix-huit"],
    ["it", "più trentanove tre quattro sette uno due tre quattro cinque sei sette"],
  ])("digits spelled out (%s): %s", (_lang, number) => {
    expect(found(`ok ${number} merci`)).toEqual([{ kind: "phone", text: number }]);
  });

  it.each([
    "06 douze 34 cinquante-six 78",
    "zero6 12 34 56 78",
    "null 171 eins zwei drei 4567",
    "3 4 7 uno due tre 4567",
  ])("digits and words mixed: %s", (number) => {
    expect(found(`${number} ciao`)).toEqual([{ kind: "phone", text: number }]);
  });

  it.each([
    ["full-width digits", "０６ １２ ３４ ５６ ７８"],
    ["mathematical bold digits", "𝟎𝟔𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖"],
    ["mathematical monospace digits", "𝟶𝟼 𝟷𝟸 𝟹𝟺 𝟻𝟼 𝟽𝟾"],
    ["O and l for 0 and 1", "O6 l2 34 56 78"],
    ["Cyrillic О for 0", "\u041e6 12 34 56 78"],
  ])("look-alike characters: %s", (_name, number) => {
    expect(found(`tel ${number}`)).toEqual([{ kind: "phone", text: number }]);
  });

  it.each([
    ["zero-width spaces", "0\u200b6\u200b1\u200b2\u200b3\u200b4\u200b5\u200b6\u200b7\u200b8"],
    ["soft hyphens", "06\u00ad12\u00ad34\u00ad56\u00ad78"],
    ["bidi marks", "\u200e06\u200f12\u202a34\u202c56\u206678\u2069"],
    ["word joiners and BOM", "0\u20606\ufeff12 34 56 78"],
  ])("invisible characters: %s", (_name, number) => {
    const spans = detectContactInfo(`num ${number} ok`, options);
    expect(spans).toHaveLength(1);
    expect(spans[0]!.kind).toBe("phone");
    expect(`num ${number} ok`.slice(spans[0]!.start, spans[0]!.end).replace(/[^\d]/g, "")).toBe("0612345678");
  });

  it("defaultRegions decides which nationally written numbers count; +country works for all", () => {
    const us = "call 415 555 2671";
    expect(kinds(us, { ...options, defaultRegions: ["FR"] })).toEqual([]);
    expect(kinds(us, { ...options, defaultRegions: ["US"] })).toEqual(["phone"]);
    expect(kinds("call +1 415 555 2671", { ...options, defaultRegions: ["FR"] })).toEqual(["phone"]);
  });

  it("finds a number next to other figures, and two numbers in one message", () => {
    expect(found("Ok pour 45€, je passe le 12/05 à 18h30, mon numéro 06 12 34 56 78")).toEqual([{ kind: "phone", text: "06 12 34 56 78" }]);
    expect(found("Ruf an: 030/1234567 oder mobil 01711234567")).toEqual([
      { kind: "phone", text: "030/1234567" },
      { kind: "phone", text: "01711234567" },
    ]);
  });
});

describe("e-mail addresses", () => {
  it.each([
    ["plain", "marie.dupont@orange.fr"],
    ["spaced", "marie.dupont @ orange . fr"],
    ["en", "john at gmail dot com"],
    ["en caps", "john AT gmail DOT com"],
    ["fr", "marie arobase orange point fr"],
    ["de", "hans punkt meier klammeraffe gmx punkt de"],
    ["de (at)", "lisa.weber(at)gmx(punkt)de"],
    ["es", "lucia.navarro arroba hotmail punto es"],
    ["it", "giulia.ricci chiocciola libero punto it"],
    ["brackets", "nicolas_girard[at]free[dot]fr"],
    ["braces", "luca{at}virgilio{dot}it"],
    ["provider only", "jwalker at gmail"],
    ["full-width", "marie＠orange．fr"],
    ["Cyrillic letters", "jean@gmаil.cоm"],
    ["mathematical letters", "𝗷𝗼𝗵𝗻@gmail.com"],
    ["invisible characters", "ma\u200brie@or\u200dange.fr"],
    ["space before @ and a provider", "marie @gmail.com"],
  ])("%s: %s", (_name, address) => {
    expect(found(`écris-moi : ${address} merci`)).toEqual([{ kind: "email", text: address }]);
  });
});

describe("links", () => {
  it.each([
    "https://example.com/page?id=3",
    "http://tinyurl.com/y7k2mz",
    "www.marie-creations.fr",
    "wa.me/33612345678",
    "bit.ly/3kF9xQz",
    "t.me/marie_vintage",
    "example.com",
    "linktr.ee/giulia_shop",
    "instagram.com/lisa.flohmarkt",
    "wa dot me slash 33612345678",
    "mariecreations dot com",
    "mariecreations point com",
    "wа.me/33612345678",
  ])("%s", (link) => {
    expect(found(`see ${link} please`)).toEqual([{ kind: "link", text: link }]);
  });

  it("leaves the marketplace's own domains (and their subdomains) alone", () => {
    expect(kinds("https://mymarket.com/item/48213 and help.mymarket.com/returns and www.mymarket.com")).toEqual([]);
    expect(kinds("https://mymarket.com.evil.io/x")).toEqual(["link"]);
  });

  it("a word that happens to be a top-level domain needs a path to be a link", () => {
    expect(kinds("ok.it works now")).toEqual([]);
    expect(kinds("Hello.Is it still available?")).toEqual([]);
    expect(kinds("ciao.it/shop")).toEqual(["link"]);
  });
});

describe("messenger handles", () => {
  it.each([
    ["my insta is @marie.vintage", "@marie.vintage"],
    ["add me on snap: julie_92", "add me on snap: julie_92"],
    ["Telegram: @tom_trades", "@tom_trades"],
    ["mon snap c'est lea.mrtn98", "lea.mrtn98"],
    ["Mein Insta: sabine_vintage_shop", "sabine_vintage_shop"],
    ["mi ig es @sofia.vende.ropa", "@sofia.vende.ropa"],
    ["su ig sono @chiara_mercatino", "@chiara_mercatino"],
    ["skype live:dave.hughes", "live:dave.hughes"],
    ["my discord is vinyl.dave#4821", "vinyl.dave#4821"],
    ["snap 👻 julie.m92", "julie.m92"],
    ["WeChat: lin_shop88", "lin_shop88"],
    ["Viber: marco_88", "marco_88"],
    ["facebook: marie.dupont.92", "marie.dupont.92"],
    ["Messenger: @dave.hughes", "@dave.hughes"],
    ["Signal: @tom.42", "@tom.42"],
    ["snap: pierremartin", "pierremartin"],
    ["IG mariev_vintage", "mariev_vintage"],
  ])("%s", (text, handle) => {
    expect(found(text)).toEqual([{ kind: "handle", text: handle }]);
  });

  it.each([
    ["en", "Add me on WhatsApp"],
    ["en", "Text me on WhatsApp please"],
    ["fr", "Écris-moi sur WhatsApp"],
    ["fr", "On peut continuer sur Telegram ?"],
    ["de", "Schreib mir auf WhatsApp"],
    ["de", "Lass uns auf Telegram weiterschreiben"],
    ["es", "Escríbeme por WhatsApp"],
    ["es", "Agrégame en Instagram"],
    ["it", "Scrivimi su WhatsApp"],
    ["it", "Sentiamoci su Telegram"],
  ])("an invitation to move to a messenger (%s): %s", (_lang, text) => {
    expect(kinds(text)).toEqual(["handle"]);
  });

  it("an invitation followed by a number is one phone, not a phone and a handle", () => {
    expect(found("WhatsApp me at 06 12 34 56 78")).toEqual([{ kind: "phone", text: "06 12 34 56 78" }]);
    expect(found("Écris-moi sur WhatsApp au 06 12 34 56 78")).toEqual([{ kind: "phone", text: "06 12 34 56 78" }]);
  });

  it.each([
    "I saw your listing on Facebook Marketplace too",
    "I don't use WhatsApp, let's keep chatting here",
    "My Instagram is private anyway",
    "Selling a leather messenger bag, 40x30 cm",
    "The signal is terrible at my place",
    "Oh snap, I forgot the charger",
    "Kein WhatsApp bitte, lieber hier im Chat",
    "Il mio Instagram non lo uso più",
    "@Marie thanks, see you Saturday",
  ])("a messenger's name or an @mention alone is not a handle: %s", (text) => {
    expect(kinds(text)).toEqual([]);
  });
});

describe("hard negatives", () => {
  it.each([
    ["prices", "€1,250 or 1.250,00 € or $99 or 99 euros, 1 250 € en espèces, £2,399.99"],
    ["sizes", "EU 42, 38-40, size 10 UK, tailles 36, 38, 40, 42 et 44, W32/L34"],
    ["size lists", "sizes 38 39 40 41 42 and 44 46 48 50"],
    ["dimensions", "120x60 cm, 180 x 60 x 200 cm, 2560x1440, 700x25c"],
    ["years", "bought in 2019, model 2015, facelift 2016 2017 2018"],
    ["quantities", "3 boxes of 24 plates, 2 sets of 12 glasses, lot de 150 pièces"],
    ["times", "between 17:30 and 19:00, RDV 18h45, Abfahrt 14:05 Ankunft 16:50"],
    ["dates", "delivered 12/05/2024, warranty until 2026-05-12, am 12.05.2024, du 03.08 au 17.08"],
    ["order numbers", "order #A-12345 shipped, refund for #B-20931"],
    ["tracking numbers", "tracking 1Z999AA10123456784, Sendungsnummer 00340434161094123456, suivi 6A12345678901"],
    ["identifiers", "IMEI 356938035643809, EAN 4006381333931, ISBN 978-2-07-061275-9, réf. 00012345678"],
    ["street addresses", "12 rue de la Paix 75002 Paris, Hauptstraße 5, 10115 Berlin, Via Roma 12, 00184 Roma"],
    ["postal codes", "SW1A 1AA, 75011, 80331 München, 28013 Madrid, 20121 Milano"],
    ["long chained numbers", "302-8859114-6612345 on the box"],
    ["IBAN", "IBAN FR76 3000 6000 0112 3456 7890 189"],
    ["car talk", "156 000 km, 1.6 HDi 110 ch, CT OK jusqu'en 12/2025"],
    ["number words", "two for thirty, deux pour vingt, zwei für zwanzig, dos por veinte, due a venti"],
    ["'at', 'dot', 'point', 'punkt' as words", "meet at the station at 6, point relais, Punkt 18 Uhr, punto de encuentro"],
  ])("%s", (_name, text) => {
    expect(found(text)).toEqual([]);
  });

  it.each([
    "Le numéro de série est 12345678901, je vous l'envoie en photo",
    "La partita IVA 01234567890 è della mia azienda",
    "Mon SIRET 12345678901234 pour la facture",
    "I'm at gmail all day for work haha",
    "I work at Gmail since 2019",
    "Le 06 12 ça me va vers 14h",
    "I've got 06 and 07 models, 08 sold out",
    "1 2 3 4 5 6 7 8 9 10 all volumes of the series",
    "Trois chaises, quatre tabourets et une table de six places",
  ])("numbers and words that only look like details: %s", (text) => {
    expect(found(text)).toEqual([]);
  });

  it("the marketplace's own order format is configurable", () => {
    const text = "voir le dossier 06 12 34 56 78";
    expect(kinds(text)).toEqual(["phone"]);
    expect(kinds(text, { ...options, ignorePatterns: [/dossier [\d ]+/] })).toEqual([]);
    // The default pattern: letters, a dash, digits ("order #A-12345").
    expect(kinds("commande #K-0612345678 reçue, merci")).toEqual([]);
    expect(kinds("K-0612345678", { ...options, ignorePatterns: [] })).toEqual(["phone"]);
  });
});

describe("offsets into the original text", () => {
  it.each([
    "préfixe ０６ １２ ３４ ５６ ７８ suffixe",
    "👋🏽 𝟎𝟔𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖 👋🏽",
    "Straße ß 0️⃣6️⃣1️⃣2️⃣3️⃣4️⃣5️⃣6️⃣7️⃣8️⃣ ende",
    "ｍａｒｉｅ＠ｏｒａｎｇｅ．ｆｒ et rien",
    "İİİ marie@orange.fr İİİ",
    "a\u0301\u0301 06 12 34 56 78 e\u0301",
  ])("span [start, end) is exactly the detail as written: %s", (text) => {
    const spans = detectContactInfo(text, options);
    expect(spans).toHaveLength(1);
    const { start, end } = spans[0]!;
    const slice = text.slice(start, end);
    expect(slice.length).toBeGreaterThan(0);
    // Starts and ends on a visible character of the detail, no surrogate cut in half.
    expect(/^[\udc00-\udfff]/.test(slice)).toBe(false);
    expect(/[\ud800-\udbff]$/.test(slice)).toBe(false);
    expect(text.slice(0, start).trim().length === 0 || /\s$/.test(text.slice(0, start))).toBe(true);
    expect(text.slice(end).length === 0 || /^\s/.test(text.slice(end))).toBe(true);
  });

  it("keycap marks and invisible characters inside the span go with it", () => {
    const text = "x 0️⃣6️⃣1️⃣2️⃣3️⃣4️⃣5️⃣6️⃣7️⃣8️⃣ y";
    expect(maskContactInfo(text, detectContactInfo(text, options))).toBe(`x ${CONTACT_MASK} y`);
  });

  it("folding keeps a map from every folded character to its original range", () => {
    const text = "Aß𝟎\u200bＢ";
    const folded = foldText(text);
    expect(folded.text).toBe("ass0b");
    expect([0, 1, 2, 3, 4].map((i) => [folded.originalStart(i), folded.originalEnd(i)])).toEqual([
      [0, 1],
      [1, 2],
      [1, 2],
      [2, 5], // 𝟎 (two code units) and the zero-width space dropped after it
      [5, 6],
    ]);
  });

  it("never throws, and spans stay in bounds, sorted and apart, on any text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), fc.string({ unit: "binary", maxLength: 80 }), (a, b) => {
        const text = `${a} 06 12 34 56 78 ${b}`;
        const spans = detectContactInfo(text, options);
        let at = 0;
        for (const s of spans) {
          expect(s.start).toBeGreaterThanOrEqual(at);
          expect(s.end).toBeGreaterThan(s.start);
          expect(s.end).toBeLessThanOrEqual(text.length);
          at = s.end;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("masking", () => {
  it("replaces each span, keeps the rest", () => {
    const text = "Tél 06 12 34 56 78 ou mail marie@orange.fr, merci !";
    expect(maskContactInfo(text, detectContactInfo(text, options))).toBe(`Tél ${CONTACT_MASK} ou mail ${CONTACT_MASK}, merci !`);
  });

  it("leaves no digit of a disguised number behind", () => {
    const text = "ok zéro six douze trente-quatre cinquante-six soixante-dix-huit merci";
    expect(maskContactInfo(text, detectContactInfo(text, options))).toBe(`ok ${CONTACT_MASK} merci`);
  });

  it("takes overlapping and unsorted spans", () => {
    expect(maskContactInfo("abcdefgh", [{ start: 5, end: 7, kind: "phone" }, { start: 1, end: 3, kind: "email" }, { start: 2, end: 4, kind: "link" }])).toBe(
      `a${CONTACT_MASK}e${CONTACT_MASK}h`,
    );
  });
});

describe("a number split over consecutive messages", () => {
  it("two messages", () => {
    const current = "34 56 78 merci";
    expect(detectAcrossMessages(["mon numéro c'est le 06 12"], current, options)).toEqual([{ start: 0, end: 8, kind: "phone" }]);
  });

  it("three messages, spelled out, with the parts in the earlier messages", () => {
    const previous = ["null eins sieben eins", "eins zwei drei"];
    const result = detectSplitContactInfo(previous, "vier fünf sechs sieben", options);
    expect(result.current).toEqual([{ start: 0, end: 22, kind: "phone" }]);
    expect(result.previous).toEqual([[{ start: 0, end: 21, kind: "phone" }], [{ start: 0, end: 14, kind: "phone" }]]);
  });

  it("only the two messages before the current one count", () => {
    expect(detectAcrossMessages(["06", "12 34", "56"], "78", options)).toEqual([]);
    expect(detectAcrossMessages(["06 12", "34 56"], "78", options)).toEqual([{ start: 0, end: 2, kind: "phone" }]);
  });

  it("nothing when the detail is whole in one message, or the parts are no number", () => {
    expect(detectAcrossMessages(["06 12 34 56 78"], "merci", options)).toEqual([]);
    expect(detectAcrossMessages(["06 12 34 56 78"], "06 12 34 56 78", options)).toEqual([]);
    expect(detectAcrossMessages(["Je peux faire 45"], "ou 50 avec la housse", options)).toEqual([]);
    expect(detectAcrossMessages(["Taille 38"], "39 et 40 dispo aussi", options)).toEqual([]);
    expect(detectAcrossMessages(["Retrait le 12", "à partir de 10h"], "jusqu'à 14h30", options)).toEqual([]);
    expect(detectAcrossMessages([], "78", options)).toEqual([]);
  });

  it("an address split in two", () => {
    expect(detectAcrossMessages(["marie.dupont"], "at gmail dot com", options)).toEqual([{ start: 0, end: 16, kind: "email" }]);
  });
});

describe("duplicate normalization", () => {
  it("folds case, spaces, look-alikes and invisible characters", () => {
    expect(normalizeForDuplicates("  Ｂuy   CHEAP\u200b wаtches ")).toBe(normalizeForDuplicates("buy cheap watches"));
  });
});

describe("the labelled corpus (quality gate)", () => {
  const corpus = loadCorpus();
  const outcomes = evaluate(corpus);

  it("has at least 500 messages, about half with contact details, in five languages, with a held-out part", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(500);
    const positives = corpus.filter((e) => e.expected.length > 0).length;
    expect(positives / corpus.length).toBeGreaterThan(0.4);
    expect(positives / corpus.length).toBeLessThan(0.6);
    expect(new Set(corpus.map((e) => e.lang))).toEqual(new Set(["en", "fr", "de", "es", "it"]));
    expect(corpus.filter((e) => e.split === "holdout").length / corpus.length).toBeGreaterThan(0.1);
  });

  it("recall ≥ 0.95 and precision ≥ 0.98 overall", () => {
    const s = score(outcomes);
    expect(s.recall).toBeGreaterThanOrEqual(0.95);
    expect(s.precision).toBeGreaterThanOrEqual(0.98);
  });

  it("and on the held-out part alone", () => {
    const s = score(outcomes.filter((o) => o.entry.split === "holdout"));
    expect(s.recall).toBeGreaterThanOrEqual(0.95);
    expect(s.precision).toBeGreaterThanOrEqual(0.98);
  });
});
