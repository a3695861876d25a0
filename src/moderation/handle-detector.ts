// Messenger handles in folded text (see text-folding.ts): a user name given with a messenger
// (WhatsApp, Telegram, Signal, Instagram, Snapchat, Facebook/Messenger, WeChat, Viber, Skype,
// Discord…), an "@handle" near a messenger's name, and invitations to move to a messenger
// ("add me on Snapchat", "écris-moi sur WhatsApp", "schreib mir auf Telegram", "escríbeme por
// WhatsApp", "scrivimi su Instagram"). Phone numbers, e-mails and links given with a messenger are
// the other detectors' finds; an invitation followed by one of them is not reported twice.
import type { FoldedRange } from "./phone-detector.js";
import { lookupNumberWord } from "./number-words.js";

/** A handle find; `soft` for an invitation without a handle (dropped when a detail follows it). */
export interface HandleRange extends FoldedRange {
  soft: boolean;
}

// Names that are only messengers.
const STRONG =
  "whats\\s?app|wh?at+s?ap+|whatsup|wasap+|wassap+|guasap+|wsp|telegram+a?|instagram|insta|snapchat|facebook|wechat|weixin|viber|skype|discord|threema|tiktok|kik";
// Names that are also ordinary words or short abbreviations: need a clearer sign of a handle.
const WEAK = "signal|snap|messenger|line|ig|fb|tg|wa|sc|teams|tele";
// Of those, the abbreviations: after a colon ("snap: pierremartin") the word is a handle.
const ABBREVIATION = /^(?:snap|ig|fb|tg|wa|sc)$/;
const PLATFORM = `(?:${STRONG}|${WEAK})`;
const WEAK_PLATFORM = new RegExp(`^(?:${WEAK})$`);
const STRONG_NEAR = new RegExp(`(?<![a-z0-9])(?:${STRONG})(?![a-z0-9])`);
const WEAK_NEAR = new RegExp(`(?<![a-z0-9])(?:${WEAK})(?![a-z0-9])`);

const HANDLE = "@?(?:live:[a-z0-9._-]{2,32}|[a-z0-9_](?:[a-z0-9._-]{0,30}[a-z0-9_])?(?:#\\d{4})?)";
const ACCOUNT_WORDS =
  "id|name|username|user|pseudo|handle|account|acc|compte|konto|cuenta|profil|profile|perfil|profilo|nick|nickname|usuario|utente|benutzername|nutzername|nom";
const IS_WORDS = "is|est|c'est|c est|cest|ist|lautet|es|e|it's|its|=";

// Platform, maybe "id"/"pseudo", a separator (":" "=" "→", a verb "is/est/ist/es/è", or a space),
// maybe an emoji (👻), then the handle.
const PLATFORM_HANDLE = new RegExp(
  `(?<![a-z0-9@])(${PLATFORM})(?![a-z0-9])(?:\\s*(?:${ACCOUNT_WORDS}))?` +
    `(\\s*(?:[:=]|->|=>|→)\\s*|\\s+(?:${IS_WORDS})\\s*:?\\s+|\\s*[-–]\\s*|\\s+)` +
    `([^a-z0-9@\\s\\u0001]{1,4}\\s*)?(${HANDLE})(?![a-z0-9@])`,
  "g",
);
const AT_HANDLE = /(?<![a-z0-9._%+\-@])@([a-z0-9_](?:[a-z0-9._]{0,28}[a-z0-9_])?)(?![a-z0-9@])/g;

const ON = "on|at|via|over|in|through|thru|sur|par|en|avec|auf|bei|uber|ueber|per|an|por|al|a|mediante|su|tramite|con";
const INVITE_VERBS = [
  // English
  "(?:add|follow|text|message|msg|dm|pm|contact|reach|call|ping|hit|find|write|mail|send|catch|hmu|chat with)\\s+(?:me|us)(?:\\s+up)?(?:\\s+(?:a\\s+)?(?:message|msg|text|dm|line))?",
  "(?:let'?s|we can|can we|could we|shall we|we could|lets)\\s+(?:talk|chat|continue|speak|move|switch|go|text|discuss|communicate)(?:\\s+(?:more|further|this))?",
  "(?:i'?m|i am|am)\\s+(?:also\\s+)?(?:on|available on|reachable on)",
  // French
  "(?:ajoute|ajoutez|rajoute|rajoutez|contacte|contactez|ecris|ecrivez|envoie|envoyez|appelle|appelez|retrouve|retrouvez|suis|suivez|joins|joignez|texte|bipe)[\\s-]*(?:moi|nous)(?:\\s+(?:un\\s+)?(?:message|msg|texto|sms|mot))?",
  "(?:on\\s+(?:peut|pourrait)\\s+|on\\s+)(?:parle|parler|discute|discuter|continue|continuer|passe|passer|echange|echanger)",
  "(?:je suis|dispo|joignable|disponible)(?:\\s+aussi)?",
  // German
  "(?:schreib|schreibt|schreiben sie|kontaktier|kontaktiere|kontaktieren sie|adde|add|folge|folg|ruf|erreichst)\\s+(?:mir|mich|uns)(?:\\s+(?:an|gerne|einfach|doch|kurz|gern|lieber))*",
  "(?:meld|melde|meldet)\\s+(?:dich|euch)(?:\\s+(?:gerne|einfach|doch|kurz|gern|lieber))*",
  "(?:bin|erreichbar|lass uns|lasst uns)(?:\\s+(?:auch|gerne|einfach|lieber))*",
  // Spanish
  "(?:agregame|anademe|escribeme|contactame|hablame|llamame|sigueme|mandame|enviame|buscame|agreguenme|escribanme|contactenme)(?:\\s+(?:un\\s+)?(?:mensaje|msj|mensajito|wasap|privado))?",
  "(?:hablamos|seguimos|continuamos|podemos hablar|podemos seguir|estoy|me encuentras)",
  // Italian
  "(?:aggiungimi|scrivimi|contattami|chiamami|seguimi|mandami|cercami|trovami|scriveteci|contattateci)(?:\\s+(?:un\\s+)?(?:messaggio|msg|messaggino))?",
  "(?:sentiamoci|scriviamoci|parliamo|continuiamo|ci sentiamo|sono|mi trovi|possiamo sentirci)",
];
const INVITATION = new RegExp(
  `(?<![a-z0-9])((?:${INVITE_VERBS.join("|")})\\s+(?:${ON})\\s+(?:(?:my|mon|ma|mein|meinem|mi|il mio|la mia|mio|el)\\s+)?(?:${STRONG}|${WEAK})(?![a-z0-9]))` +
    `(?:(\\s*[:@]?\\s*)(${HANDLE})(?![a-z0-9@]))?`,
  "g",
);
// "WhatsApp me", "snap me".
const PLATFORM_ME = new RegExp(`(?<![a-z0-9])(?:${STRONG}|snap|wa)\\s+me(?![a-z0-9'])(?!\\s+(?:at|on|au|sur)\\b)`, "g");

const POSSESSIVE = /(?:^|[^a-z0-9])(?:my|mon|ma|mein|meine|meinen|mi|mio|mia|il mio|la mia|el)\s+$/;

// Words that follow a messenger name without being a handle ("my WhatsApp is broken").
const NOT_HANDLES = new Set(
  (
    "a an the is are was be been not no yes ok okay and or but if too also only just please pls plz thanks thank private public " +
    "broken down blocked hacked closed deleted dead new old same better faster easier fine good great best better here there now " +
    "later soon anymore app apps account accounts group groups story stories post posts page pages profile message messages chat " +
    "chats call calls video videos link links number photo photos pic pics pictures picture name id me you him her us them it this " +
    "that these those my your our his their what why how when where who which with without for from to of in on at by as so then " +
    "than very really more less much many some any all every each other another one two business web desktop status reel reels live " +
    "direct dm dms pm inbox mp marketplace ads ad listing listings annonce annonces anzeige anzeigen anuncio anuncios annuncio annunci " +
    "le la les un une des du de et ou mais pas non oui plus aussi seulement merci stp svp ici maintenant apres prive bloque ferme " +
    "nouveau mon ton son ma ta sa mes tes ses est c'est ce cette sur par pour avec sans dans chez je tu il elle nous vous ils " +
    "elles moi toi lui leur y en ne que qui quoi quand comment pourquoi ca fonctionne marche " +
    "der die das den dem des ein eine einen einem und oder aber nicht kein keine ja nein auch nur bitte danke hier jetzt spater " +
    "privat gesperrt neu mein meine dein deine sein ist bin bist sind war auf bei uber mit ohne fur von zu im am ich du er sie es wir " +
    "ihr mir mich dir dich geht funktioniert kaputt " +
    "el los las una unos unas y o pero si tambien solo por favor gracias aqui ahora despues privado bloqueado nuevo mi tu su es " +
    "en con sin para que quien como cuando donde yo el ella nosotros funciona roto " +
    "il lo gli uno ma non anche grazie qui ora dopo privato bloccato nuovo mio tuo suo sono su per di da tra fra che chi come " +
    "quando dove io lui lei noi voi loro funziona rotto " +
    "whatsapp telegram signal instagram insta snapchat snap facebook messenger wechat viber skype discord threema tiktok line kik " +
    "group gruppe groupe grupo gruppo channel chaine kanal canal canale"
  ).split(/\s+/),
);

function acceptableHandle(handle: string, strongSign: boolean): boolean {
  const bare = handle.replace(/^@/, "");
  if (bare.length < 3 && !handle.startsWith("@")) return false;
  if (/^\d+$/.test(bare)) return false; // digits are the phone detector's
  if (NOT_HANDLES.has(bare) || lookupNumberWord(bare)) return false;
  return strongSign || handle.startsWith("@") || /[\d_.]/.test(bare) || bare.startsWith("live:") || bare.includes("#");
}

const ANY_PLATFORM = new RegExp(`(?<![a-z0-9])(?:${STRONG}|${WEAK})(?![a-z0-9])`);

export function detectHandles(text: string): HandleRange[] {
  const found: HandleRange[] = [];
  // Every find needs a messenger's name somewhere; most messages have none.
  if (!ANY_PLATFORM.test(text)) return found;
  for (const m of text.matchAll(PLATFORM_HANDLE)) {
    const platform = m[1]!;
    const sep = m[2]!;
    const emoji = m[3] !== undefined;
    const handle = m[4]!;
    const weak = WEAK_PLATFORM.test(platform.replace(/\s+/g, ""));
    const colon = /[:=→>]/.test(sep);
    const verb = !colon && /\S/.test(sep) && !/[-–]/.test(sep);
    const possessive = POSSESSIVE.test(text.slice(Math.max(0, m.index - 12), m.index));
    // What makes the word after the name a handle: "@", a colon, "my X is …", or its shape.
    const strongSign = (!weak || ABBREVIATION.test(platform)) && (colon || (verb && possessive));
    // An emoji between name and handle ("snap 👻 julie.m") is a sign too, for the handle's shape.
    if (weak && !(colon || emoji || handle.startsWith("@") || (verb && possessive) || ABBREVIATION.test(platform))) continue;
    if (!acceptableHandle(handle, strongSign)) continue;
    const handleStart = m.index + m[0].length - handle.length;
    found.push({ start: handleStart, end: m.index + m[0].length, soft: false });
  }
  if (text.includes("@")) {
    for (const m of text.matchAll(AT_HANDLE)) {
      const start = m.index;
      const end = start + m[0].length;
      const near = text.slice(Math.max(0, start - 60), Math.min(text.length, end + 40));
      const nearWeak = text.slice(Math.max(0, start - 25), Math.min(text.length, end + 25));
      if (!STRONG_NEAR.test(near) && !WEAK_NEAR.test(nearWeak)) continue;
      if (!acceptableHandle(m[0], true)) continue;
      found.push({ start, end, soft: false });
    }
  }
  for (const m of text.matchAll(INVITATION)) {
    const handle = m[3];
    // With a handle after it, the invitation and the handle are one find; without, a soft one.
    if (handle !== undefined && acceptableHandle(handle, /[:@]/.test(m[2]!))) found.push({ start: m.index, end: m.index + m[0].length, soft: false });
    else found.push({ start: m.index, end: m.index + m[1]!.length, soft: true });
  }
  for (const m of text.matchAll(PLATFORM_ME)) found.push({ start: m.index, end: m.index + m[0].length, soft: true });
  return found;
}
