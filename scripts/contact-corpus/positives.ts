// Messages that carry a contact detail: sentence frames written per language (the place where a
// detail goes is "{}") and the details themselves in every disguise the detector must see through.
import { digitWord, numberWords, type Lang } from "./spell-numbers.js";
import { internationalWritten, nationalWritten, phoneFor, splitGroups, type PhoneNumberSample } from "./phones.js";
import { SEPARATOR_EMOJI, everyDigit, fullwidth, homoglyphs, insertInvisibles, keycaps, letterDigits, mathBold, mathMonospace, mathSansBoldLetters } from "./disguises.js";
import type { Rng } from "./rng.js";

export type Kind = "phone" | "email" | "link" | "handle";

export interface Sample {
  text: string;
  previous?: string[];
  expected: Kind[];
  category: string;
  lang: Lang;
  /** What the split into dev and held-out goes by: the frame (the hand-written sentence). */
  template: string;
  /** Never held out (tuned on). */
  dev?: boolean;
}

export const LANGS: readonly Lang[] = ["en", "fr", "de", "es", "it"];

export const PHONE_FRAMES: Record<Lang, readonly string[]> = {
  en: [
    "Hi! Easier to sort this out by phone, my number is {}",
    "You can call or text me on {} after 6pm",
    "Still available. Ring me: {}",
    "I'm at work till 5, drop me a text on {} and I'll get back to you",
    "Can't reply much on here, my mobile is {}",
    "ok deal for £40, here's my number {}",
    "Text me at {} and we can arrange pick up this weekend",
    "{} ← that's me, call or WhatsApp",
    "My partner will handle collection, her number is {}",
    "Cheers. {} call anytime before 9",
    "tbh best to reach me on {}, I hardly check this app",
    "Number: {}",
    "Sorry for the late reply! Give me a bell on {} if you still want the bike",
    "if you're still interested for the 2 chairs call {} (ask for Dave)",
  ],
  fr: [
    "Bonjour, c'est plus simple par téléphone : {}",
    "Appelle-moi au {} après 18h",
    "Voici mon num {} on s'arrange par sms",
    "Je réponds plus vite par texto, {}",
    "Ok pour 35€, tu peux me joindre au {}",
    "Contactez-moi directement au {}, je suis dispo ce week-end",
    "Pour la remise en main propre appelez mon mari au {}",
    "{} c'est mon numéro perso",
    "Envoie un SMS au {} stp",
    "Tél : {}",
    "Salut ! Le canapé est toujours dispo, appelle le {} pour passer le voir",
    "je regarde peu l'appli, mieux vaut m'appeler : {} merci",
    "Si vous êtes intéressée pour les 3 robes, mon portable {}",
    "Bonsoir, rappelez-moi au {} demain matin svp",
  ],
  de: [
    "Hallo, ruf mich einfach an: {}",
    "Meine Nummer ist {}, gerne auch per SMS",
    "Schreib mir lieber eine SMS an {}",
    "Abholung nach Absprache, Tel. {}",
    "Erreichbar ab 17 Uhr unter {}",
    "Ok für 50 €. Meld dich unter {}",
    "Handy: {}",
    "{} – das ist meine Handynummer",
    "Bin hier schlecht erreichbar, lieber unter {}",
    "Mein Mann holt es ab, seine Nummer: {}",
    "Guten Tag, für Rückfragen bin ich unter {} zu erreichen",
    "Kurz anrufen unter {} dann machen wir einen Termin aus",
    "Servus! Das Rad steht noch, ruf halt an: {}",
    "Bitte nur WhatsApp oder SMS an {}, danke",
  ],
  es: [
    "Hola, mejor llámame al {}",
    "Mi número es {}, escríbeme cuando puedas",
    "Te paso mi móvil: {}",
    "Para quedar llámame al {} a partir de las 18h",
    "Vale, 40€. Mándame un mensaje al {}",
    "Tlf {}",
    "{} es mi número, pregunta por Ana",
    "Si te interesa llama al {}",
    "No miro mucho la app, mejor al {}",
    "Puedes contactar con mi hermano en el {}",
    "Buenas! Sigue disponible, llámame o escríbeme al {} y quedamos",
    "Mi whats es el {}",
    "Perdona la tardanza, mejor hablamos por teléfono: {}",
    "llamame al {} por la tarde q por la mañana trabajo",
  ],
  it: [
    "Ciao, chiamami al {}",
    "Il mio numero è {}, scrivimi pure",
    "Ti lascio il cellulare: {}",
    "Per il ritiro contattami al {} dopo le 18",
    "Va bene 30€, mandami un messaggio al {}",
    "Cell. {}",
    "{} questo è il mio numero",
    "Se ti interessa chiama il {}",
    "Qui rispondo poco, meglio al {}",
    "Chiedi di Marco al {}",
    "Buonasera, la bici è ancora disponibile, mi può chiamare al {}",
    "scrivimi su whatsapp al {} che ti mando altre foto",
    "Per me va bene sabato, il mio cell è {}",
    "Salve, sono raggiungibile al {} tutto il giorno",
  ],
};

export const EMAIL_FRAMES: Record<Lang, readonly string[]> = {
  en: [
    "Send me the details at {}",
    "My email is {}",
    "Drop me an email: {} and I'll send more pics",
    "Contact: {}",
    "Mine is {} if you want the receipt",
    "email me {} for a faster reply",
    "Could you send the tracking to {} please",
  ],
  fr: [
    "Mon mail : {}",
    "Écris-moi à {}, je t'envoie d'autres photos",
    "Envoie-moi un mail sur {}",
    "Contact {}",
    "Mon adresse c'est {}",
    "Plus simple par mail {} merci",
    "Vous pouvez m'envoyer la facture à {} ?",
  ],
  de: [
    "Meine E-Mail: {}",
    "Schreib mir an {}, dann schicke ich mehr Fotos",
    "Mail an {} bitte",
    "Kontakt: {}",
    "Erreichst mich unter {}",
    "Schick mir die Rechnung gern an {}",
    "Am besten per Mail, {}",
  ],
  es: [
    "Mi correo es {}",
    "Escríbeme a {} y te mando más fotos",
    "Mándame un email a {}",
    "Contacto: {}",
    "Mejor por correo {}",
    "Mi mail {} por si acaso",
    "Envíame la factura a {} porfa",
  ],
  it: [
    "La mia mail è {}",
    "Scrivimi a {} che ti mando altre foto",
    "Mandami una mail a {}",
    "Contatto: {}",
    "Meglio via email {}",
    "La fattura mandala a {} grazie",
    "Se preferisci, {}",
  ],
};

export const LINK_FRAMES: Record<Lang, readonly string[]> = {
  en: ["More photos here {}", "Check my other stuff {}", "It's cheaper on my own site {}", "see {}", "Message me there instead: {}"],
  fr: ["Plus de photos ici : {}", "Regarde mes autres articles {}", "Moins cher sur mon site {}", "Écris-moi plutôt ici {}", "tout est là {}"],
  de: ["Mehr Bilder hier: {}", "Schau mal auf {}", "Günstiger in meinem Shop {}", "Schreib mir lieber hier {}", "alles weitere unter {}"],
  es: ["Más fotos aquí {}", "Mira mis otras cosas en {}", "Más barato en mi web {}", "Escríbeme mejor aquí {}", "todo en {}"],
  it: ["Altre foto qui {}", "Guarda i miei altri articoli su {}", "Costa meno sul mio sito {}", "Scrivimi piuttosto qui {}", "trovi tutto su {}"],
};

// Frames that carry the messenger's name themselves; "{}" is the handle.
export const HANDLE_FRAMES: Record<Lang, readonly string[]> = {
  en: [
    "add me on snap: {}",
    "my insta is @{}",
    "Telegram: @{}",
    "find me on Instagram @{} for more pics",
    "my discord is {}#4821",
    "skype live:{}",
    "snap 👻 {}",
    "IG: {}",
    "whatsapp is playing up, try telegram @{}",
    "follow me on tiktok @{} I post everything there first",
  ],
  fr: [
    "ajoute-moi sur snap : {}",
    "mon insta c'est @{}",
    "Télégram : {}",
    "retrouve-moi sur Instagram : {}",
    "Insta @{} pour plus de photos",
    "Mon Snapchat : {}",
    "écris moi sur messenger, je suis {}",
    "tu peux me DM sur insta @{}",
  ],
  de: [
    "adde mich bei Snapchat: {}",
    "mein Insta: @{}",
    "Telegram @{}",
    "Folge mir auf Instagram @{}",
    "Skype: live:{}",
    "schreib mir auf Insta, bin {}",
    "Discord: {}#0815",
    "Snap 👻 {}",
  ],
  es: [
    "agrégame en snap: {}",
    "mi insta es @{}",
    "Telegram: @{}",
    "sígueme en Instagram @{}",
    "IG @{} ahí subo todo",
    "mi usuario de Telegram es @{}",
    "Snapchat: {}",
    "búscame en insta como {}",
  ],
  it: [
    "aggiungimi su snap: {}",
    "il mio insta è @{}",
    "Telegram: @{}",
    "seguimi su Instagram @{}",
    "Discord: {}#1234",
    "su Telegram sono @{}",
    "IG: {}",
    "mi trovi su insta come @{}",
  ],
};

export const INVITE_FRAMES: Record<Lang, readonly string[]> = {
  en: ["Add me on WhatsApp, easier", "Text me on WhatsApp please", "Let's continue on Telegram", "message me on Insta and I'll send the rest", "can you dm me on instagram? I'm not on here much"],
  fr: ["Écris-moi sur WhatsApp", "On peut continuer sur Telegram ?", "Contacte-moi sur Insta", "Ajoute-moi sur Snap stp", "envoyez-moi un message sur WhatsApp pour les photos"],
  de: ["Schreib mir auf WhatsApp", "Lass uns auf Telegram weiterschreiben", "Meld dich einfach bei WhatsApp", "Adde mich auf Snapchat", "Kontaktier mich über Insta"],
  es: ["Escríbeme por WhatsApp", "Hablamos por Telegram mejor", "Agrégame en Instagram", "Contáctame por WhatsApp y te mando fotos", "mándame un mensaje por whatsapp"],
  it: ["Scrivimi su WhatsApp", "Sentiamoci su Telegram", "Aggiungimi su Instagram", "Contattami su WhatsApp per i dettagli", "mandami un messaggio su whatsapp"],
};

const FIRST: Record<Lang, readonly string[]> = {
  en: ["james", "emily", "tom", "sarah", "dave", "lucy", "mark", "chloe", "ben", "olivia"],
  fr: ["marie", "julien", "camille", "nicolas", "sophie", "thomas", "lea", "antoine", "chloe", "pierre"],
  de: ["lisa", "jonas", "anna", "lukas", "katrin", "stefan", "julia", "tobias", "sabine", "max"],
  es: ["lucia", "pablo", "maria", "javier", "carmen", "alejandro", "sofia", "diego", "elena", "sergio"],
  it: ["giulia", "marco", "francesca", "luca", "chiara", "alessandro", "sara", "matteo", "elena", "davide"],
};
const LAST: Record<Lang, readonly string[]> = {
  en: ["smith", "jones", "taylor", "brown", "wilson", "evans", "walker", "hughes"],
  fr: ["dupont", "martin", "bernard", "moreau", "lefebvre", "girard", "roux", "fournier"],
  de: ["mueller", "schmidt", "schneider", "fischer", "weber", "becker", "hoffmann", "wagner"],
  es: ["garcia", "martinez", "lopez", "sanchez", "romero", "navarro", "torres", "ruiz"],
  it: ["rossi", "russo", "ferrari", "esposito", "bianchi", "romano", "colombo", "ricci"],
};
const PROVIDERS: Record<Lang, readonly string[]> = {
  en: ["gmail.com", "hotmail.co.uk", "outlook.com", "yahoo.com", "icloud.com", "btinternet.com"],
  fr: ["gmail.com", "orange.fr", "hotmail.fr", "free.fr", "laposte.net", "wanadoo.fr", "sfr.fr"],
  de: ["gmx.de", "web.de", "t-online.de", "gmail.com", "gmx.net", "posteo.de"],
  es: ["gmail.com", "hotmail.es", "yahoo.es", "outlook.es", "telefonica.net"],
  it: ["gmail.com", "libero.it", "virgilio.it", "hotmail.it", "alice.it", "tiscali.it"],
};
const HANDLE_NAMES = [
  "marie.vintage", "julie_92", "lisa.flohmarkt", "lucia_vende", "giulia.shop", "tom_trades", "k.schmidt88", "pablo.compraventa",
  "ale_rossi", "sophie.dressing", "retro_finds_uk", "bike.parts.lyon", "sneakerhead_de", "mamma.vende", "chloe_closet", "vinyl.dave",
  "ventas_ruiz", "nico.brocante", "hoffi_84", "sara.mercatino", "kids.clothes.es", "jonas_hh", "le.grenier.de.lea", "deals4u_ben",
];

function emailLocal(lang: Lang, rng: Rng): string {
  const f = rng.pick(FIRST[lang]);
  const l = rng.pick(LAST[lang]);
  return rng.pick([`${f}.${l}`, `${f}${l}${rng.int(70, 99)}`, `${f[0]}.${l}`, `${f}_${l}`, `${f}${rng.int(1, 9)}${rng.int(0, 9)}`, `${l}.${f}`]);
}

export function fill(frame: string, detail: string): string {
  return frame.replace("{}", detail);
}

// ---------- phone disguises ----------

export type PhoneStyle =
  | "plain" | "international" | "separators" | "emoji" | "keycap" | "spelled_digits" | "spelled_pairs"
  | "spelled_international" | "mixed" | "lookalike" | "invisible";

const SPELL_SEPS = [" ", " ", ", ", " - ", "-", " "];

function spellDigits(digits: string, lang: Lang, rng: Rng): string {
  const sep = rng.pick(SPELL_SEPS);
  return [...digits].map((d) => (lang === "en" && d === "0" && rng.chance(0.4) ? "oh" : digitWord(Number(d), lang))).join(sep);
}

/** Read in groups: a leading 0 as a word, then each group of two as a number ("zéro six, douze…"). */
function spellPairs(p: PhoneNumberSample, lang: Lang, rng: Rng): string {
  const sep = rng.pick([" ", ", ", " ", " / "]);
  const words: string[] = [];
  let rest = p.national;
  if (rest.startsWith("0")) {
    words.push(digitWord(0, lang));
    rest = rest.slice(1);
  }
  // Pairs, with a single digit first when the length is odd.
  if (rest.length % 2 === 1) {
    words.push(digitWord(Number(rest[0]), lang));
    rest = rest.slice(1);
  }
  for (let i = 0; i < rest.length; i += 2) {
    const pair = rest.slice(i, i + 2);
    words.push(pair.startsWith("0") ? `${digitWord(0, lang)} ${digitWord(Number(pair[1]), lang)}` : numberWords(Number(pair), lang));
  }
  return words.join(sep);
}

function mixed(p: PhoneNumberSample, lang: Lang, rng: Rng): string {
  const groups = splitGroups(p.national, p.groups.length >= 4 ? p.groups : [2, 2, 2, 2, 2, 2]);
  const sep = rng.pick([" ", " ", "-", " . "]);
  let words = 0;
  const out = groups.map((g, i) => {
    const spell = (i % 2 === 1 || rng.chance(0.3)) && words < groups.length - 1;
    if (!spell) return g;
    words++;
    if (g.length === 2 && !g.startsWith("0")) return numberWords(Number(g), lang);
    return [...g].map((d) => digitWord(Number(d), lang)).join(" ");
  });
  return out.join(sep);
}

export function writePhone(p: PhoneNumberSample, style: PhoneStyle, lang: Lang, rng: Rng): string {
  switch (style) {
    case "plain":
      return rng.pick([nationalWritten(p, " "), p.national, nationalWritten(p, " ")]);
    case "international":
      return internationalWritten(p, rng);
    case "separators": {
      const sep = rng.pick([".", "-", "/", " . ", " - ", "  ", "_", "|"]);
      return rng.chance(0.3) ? everyDigit(p.national, rng.pick([" ", ".", "-"])) : nationalWritten(p, sep);
    }
    case "emoji": {
      const e = rng.pick(SEPARATOR_EMOJI);
      return rng.chance(0.5) ? nationalWritten(p, e) : nationalWritten(p, ` ${e} `);
    }
    case "keycap":
      return keycaps(rng.chance(0.6) ? p.national : nationalWritten(p, " "));
    case "spelled_digits":
      return spellDigits(p.national, lang, rng);
    case "spelled_pairs":
      return spellPairs(p, lang, rng);
    case "spelled_international": {
      const plus = { en: "plus", fr: "plus", de: "plus", es: "más", it: "più" }[lang];
      const cc = Number(p.cc) < 100 ? numberWords(Number(p.cc), lang) : [...p.cc].map((d) => digitWord(Number(d), lang)).join(" ");
      return `${plus} ${cc} ${spellDigits(p.significant, lang, rng)}`;
    }
    case "mixed":
      return mixed(p, lang, rng);
    case "lookalike": {
      const written = nationalWritten(p, rng.pick([" ", ".", ""]));
      return rng.pick([fullwidth, mathBold, mathMonospace, (s: string) => letterDigits(s, rng)])(written);
    }
    case "invisible":
      return insertInvisibles(rng.chance(0.5) ? p.national : nationalWritten(p, " "), rng);
  }
}

// ---------- e-mail disguises ----------

export type EmailStyle = "plain" | "spelled" | "brackets" | "spaced" | "lookalike" | "invisible" | "provider_only";

const AT_DOT: Record<Lang, readonly [string, string][]> = {
  en: [[" at ", " dot "], [" AT ", " DOT "], [" at ", " dot "]],
  fr: [[" arobase ", " point "], [" at ", " point "], [" arobase ", " . "]],
  de: [[" at ", " punkt "], [" Klammeraffe ", " Punkt "], [" (at) ", " punkt "]],
  es: [[" arroba ", " punto "], [" arroba ", " . "], [" at ", " punto "]],
  it: [[" chiocciola ", " punto "], [" at ", " punto "], [" chiocciola ", "."]],
};

export function writeEmail(lang: Lang, style: EmailStyle, rng: Rng): string {
  const local = emailLocal(lang, rng);
  const domain = rng.pick(PROVIDERS[lang]);
  const plain = `${local}@${domain}`;
  switch (style) {
    case "plain":
      return rng.chance(0.2) ? plain.replace(/^./, (c) => c.toUpperCase()) : plain;
    case "spelled": {
      const [at, dot] = rng.pick(AT_DOT[lang]);
      return `${local.replace(/\./g, rng.chance(0.5) ? dot : ".")}${at}${domain.replace(/\./g, dot)}`;
    }
    case "brackets": {
      const [at, dot] = rng.pick([["(at)", "(dot)"], ["[at]", "[dot]"], ["{at}", "{dot}"], ["(@)", "(.)"], ["[@]", "[.]"]] as const);
      const pad = rng.chance(0.5) ? " " : "";
      return `${local}${pad}${at}${pad}${domain.replace(/\./g, `${pad}${dot}${pad}`)}`;
    }
    case "spaced":
      return `${local} @ ${domain.replace(/\./g, " . ")}`;
    case "lookalike":
      return rng.pick([
        () => homoglyphs(plain, rng, 0.4),
        () => `${local}＠${domain.replace(/\./g, "．")}`,
        () => `${mathSansBoldLetters(local.replace(/[^a-z]/g, ""))}@${domain}`,
      ])();
    case "invisible":
      return insertInvisibles(plain, rng, 2);
    case "provider_only": {
      const provider = rng.pick(["gmail", "hotmail", "yahoo", "outlook", "gmx", "libero", "icloud"]);
      const at = rng.pick(AT_DOT[lang])[0];
      return `${local}${at}${provider}`;
    }
  }
}

// ---------- links ----------

export function writeLink(lang: Lang, p: PhoneNumberSample, rng: Rng): { text: string; disguise: string } {
  const handle = rng.pick(HANDLE_NAMES);
  const options: { text: string; disguise: string }[] = [
    { text: `https://wa.me/${p.cc}${p.significant}`, disguise: "url" },
    { text: `wa.me/${p.cc}${p.significant}`, disguise: "bare" },
    { text: `t.me/${handle.replace(/\./g, "_")}`, disguise: "bare" },
    { text: `bit.ly/${rng.pick(["3kF9xQz", "2Xr8pLm", "4bNq7Ws", "3ZtYv1K"])}`, disguise: "bare" },
    { text: `www.${handle.replace(/[._]/g, "-")}.${rng.pick(["fr", "de", "com", "es", "it"])}`, disguise: "www" },
    { text: `instagram.com/${handle}`, disguise: "bare" },
    { text: `linktr.ee/${handle.replace(/\./g, "_")}`, disguise: "bare" },
    { text: `https://www.${rng.pick(["vinted.fr/member/", "ebay.de/usr/", "wallapop.com/user/", "subito.it/utente/", "gumtree.com/profile/"])}${rng.int(1000000, 99999999)}`, disguise: "url" },
    { text: `${handle.replace(/[._]/g, "-")}.com`, disguise: "bare" },
    { text: `https://chat.whatsapp.com/${rng.pick(["Gk7HqL2aXw9", "BfT3mZ8QpLs", "Hy6RtV1cNd4"])}`, disguise: "url" },
    { text: `facebook.com/${handle}`, disguise: "bare" },
    { text: `wa dot me slash ${p.cc}${p.significant}`, disguise: "spelled" },
    { text: `${handle.replace(/[._]/g, "")} ${rng.pick(["dot", "(dot)", "[dot]", { en: "dot", fr: "point", de: "punkt", es: "punto", it: "punto" }[lang]])} com`, disguise: "spelled" },
    { text: `w${"а"}.me/${p.cc}${p.significant}`, disguise: "lookalike" },
    { text: insertInvisibles(`bit.ly/${rng.pick(["3kF9xQz", "2Xr8pLm"])}`, rng, 3), disguise: "invisible" },
  ];
  return rng.pick(options);
}

export function handleName(rng: Rng): string {
  return rng.pick(HANDLE_NAMES);
}

export function makePhone(lang: Lang, rng: Rng): PhoneNumberSample {
  return phoneFor(lang, rng);
}
