// E-mail addresses and links in folded text (see text-folding.ts), plain or disguised: "at" and
// "dot" spelled out in five languages ("arobase", "Klammeraffe", "arroba", "chiocciola", "punkt",
// "punto", "point"), in brackets ("(at)", "[dot]"), spaced ("john @ gmail . com"); links with a
// scheme, "www.", or bare ("wa.me/…", "bit.ly/…", "example.com"), also with the dot spelled out.
import type { FoldedRange } from "./phone-detector.js";

const AT_WORDS = "at|arobase|arrobase|arroba|arobas|chiocciola|chiocciolina|klammeraffe|at-zeichen|atzeichen";
const DOT_WORDS = "dot|point|punkt|punto|punt|pto";
const OPEN = "[\\(\\[\\{<]";
const CLOSE = "[\\)\\]\\}>]";
// "@" spaced on the left only is "@handle", not an address, unless a mail provider follows.
const AT = `(?:@\\s*|\\s+@\\s+|\\s+@(?=(?:${"gmail|googlemail|hotmail|outlook|yahoo|ymail|icloud|gmx|web|protonmail|proton|laposte|orange|free|wanadoo|sfr|libero|virgilio|tiscali|alice|yandex|aol|msn|live|t-online|freenet|posteo"})[.\\s])|\\s*${OPEN}\\s*(?:${AT_WORDS}|@)\\s*${CLOSE}\\s*|\\s+(?:${AT_WORDS})\\s+|\\s*-(?:${AT_WORDS})-\\s*)`;
const SPELLED_DOT = `(?:\\s*${OPEN}\\s*(?:${DOT_WORDS}|\\.)\\s*${CLOSE}\\s*|\\s+(?:${DOT_WORDS})\\s+|\\s*-(?:${DOT_WORDS})-\\s*)`;
const DOT = `(?:\\s?\\.\\s?|${SPELLED_DOT})`;
const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const LOCAL_PART = "[a-z0-9_%+-]+";
const LOCAL = `${LOCAL_PART}(?:(?:\\.|${OPEN}\\s*(?:${DOT_WORDS}|\\.)\\s*${CLOSE}|\\s+(?:${DOT_WORDS})\\s+|-(?:${DOT_WORDS})-)${LOCAL_PART})*`;

// Mail providers whose name alone makes "john at gmail" an address.
const PROVIDERS =
  "gmail|googlemail|hotmail|outlook|yahoo|ymail|icloud|gmx|protonmail|proton|laposte|wanadoo|libero|virgilio|tiscali|yandex|aol|msn|t-online|freenet|hotmal|gmial|gamil";
// Top-level domains that end a disguised address or a spelled-out link.
const MAIL_TLDS = "com|net|org|fr|de|es|it|eu|co\\.uk|uk|io|be|ch|at|nl|info|biz|me|ru|pl|pt|ca|us|lu|li|email|mail|online|xyz|co";

const PLAIN_EMAIL = /(?<![a-z0-9._%+-])[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,24}(?![a-z0-9-])/g;
const DISGUISED_EMAIL = new RegExp(
  `(?<![a-z0-9_%+'-])(${LOCAL})${AT}(?:(?:${PROVIDERS})((?:${DOT}(?:${MAIL_TLDS}))*)|${LABEL}(?:${DOT}${LABEL})*${DOT}(?:${MAIL_TLDS}))(?![a-z0-9])`,
  "g",
);
// "I work at Gmail": a provider's name with no domain after it needs a local part that is no word.
const NOT_A_LOCAL_PART = new Set([
  "i", "im", "m", "me", "you", "we", "he", "she", "they", "am", "is", "are", "was", "be", "work", "works", "working", "worked",
  "job", "intern", "here", "there", "still", "also", "just", "now", "already", "only", "him", "her", "them", "us", "it",
  "engineer", "developer", "manager", "account", "accounts", "login", "support",
]);

// Cheap tests first: most messages have neither "@" nor an "at" word with a mail domain after it.
const AT_WORD = new RegExp(`(?<![a-z0-9])(?:${AT_WORDS})(?![a-z0-9])`);
const DOMAIN_END = new RegExp(`(?:${PROVIDERS})|(?:\\.|${DOT_WORDS})[\\s)\\]}>-]*(?:${MAIL_TLDS})(?![a-z0-9])`);

export function detectEmails(text: string): FoldedRange[] {
  const found: FoldedRange[] = [];
  const at = text.includes("@");
  if (at) for (const m of text.matchAll(PLAIN_EMAIL)) found.push({ start: m.index, end: m.index + m[0].length });
  if ((at || AT_WORD.test(text)) && DOMAIN_END.test(text))
    for (const m of text.matchAll(DISGUISED_EMAIL)) {
      const providerOnly = m[2] === "";
      if (providerOnly && (m[1]!.length < 3 || NOT_A_LOCAL_PART.has(m[1]!))) continue;
      found.push({ start: m.index, end: m.index + m[0].length });
    }
  return found;
}

// Top-level domains that make "name.tld" a link on their own: not words in the five languages.
const STRONG_TLDS =
  "com|net|org|edu|gov|io|ly|gl|gg|gd|fr|uk|eu|ru|ch|nl|pl|pt|cz|gr|ie|ua|cn|jp|br|mx|ar|info|biz|xyz|app|dev|shop|store|online|site|link|club|tv|cc|ws|ee|ai|me|co\\.uk";
// These are words too ("it", "de", "es", "at", "be", "to"…): a link only with a path, "www." or a
// scheme ("ciao.it" is a typo more often than a link).
const WEAK_TLDS = "de|es|it|at|be|to|us|co|la|in|is|ma|cat|eus|so|do|fm|am|tk|li|lu";
// Hosts that are links however they are written (messenger and short-link domains).
const KNOWN_HOSTS = new Set([
  "wa.me", "t.me", "m.me", "ig.me", "fb.me", "bit.ly", "tinyurl.com", "goo.gl", "linktr.ee", "discord.gg", "telegram.me",
  "snapchat.com", "instagram.com", "facebook.com", "signal.me", "viber.com", "api.whatsapp.com", "chat.whatsapp.com",
  "whatsapp.com", "tiktok.com", "skype.com", "line.me", "vm.tiktok.com", "is.gd", "ow.ly", "rb.gy", "cutt.ly", "t.co",
]);

const SCHEME_URL = /(?<![a-z0-9])(?:https?|ftp):\/\/[^\s<>"'`\u0001]+|(?<![a-z0-9.\-@])www\d?\.[^\s<>"'`\u0001]+/g;
const BARE_DOMAIN = new RegExp(
  `(?<![a-z0-9@._%+-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)+)(${STRONG_TLDS}|${WEAK_TLDS})(?![a-z0-9-])((?:[/?#][^\\s<>"'\`\\u0001]*)?)`,
  "g",
);
const SPELLED_LINK = new RegExp(
  `(?<![a-z0-9@._%+-])(${LABEL}(?:${DOT}${LABEL})*?)${SPELLED_DOT}(com|net|org|io|ly|fr|uk|eu|me|ee|gg|de|es|it)(?![a-z0-9-])` +
    `((?:\\s*(?:/|\\s(?:slash|barre|schragstrich|barra)\\s)\\s*[a-z0-9_.+-]+)*)`,
  "g",
);
const SPELLED_LINK_HOSTS_ONLY_TLDS = new Set(["me", "ee", "gg", "de", "es", "it"]);
const NOT_A_LABEL = new Set(["the", "a", "an", "le", "la", "un", "une", "au", "ce", "du", "de", "el", "il", "lo", "der", "die", "das", "ein", "this", "that", "en", "and", "et", "y", "e", "und", "or", "ou", "o", "oder", "to", "mon", "mi", "my", "mein"]);
const DOT_LETTER = /[a-z0-9]\.[a-z]/;
const SCHEME_OR_WWW = /:\/\/|www\d?\./;
const DOT_WORD = new RegExp(`(?<![a-z0-9])(?:${DOT_WORDS})(?![a-z0-9])`);
const WEAK_TLD = new RegExp(`^(?:${WEAK_TLDS})$`);
const DOT_SPLIT = new RegExp(DOT);
const TRAILING_PUNCTUATION = /[.,;:!?)\]}'"»]+$/;

export function detectLinks(text: string, allowedDomains: readonly string[]): FoldedRange[] {
  const found: FoldedRange[] = [];
  const allowed = (host: string) => allowedDomains.some((d) => host === d || host.endsWith(`.${d}`));
  if (SCHEME_OR_WWW.test(text)) for (const m of text.matchAll(SCHEME_URL)) {
    const url = m[0].replace(TRAILING_PUNCTUATION, "");
    const host = url.replace(/^(?:https?|ftp):\/\//, "").split(/[/?#:]/, 1)[0]!.replace(/^www\d?\./, "");
    if (!allowed(host) && !allowed(`www.${host}`)) found.push({ start: m.index, end: m.index + url.length });
  }
  if (DOT_LETTER.test(text)) for (const m of text.matchAll(BARE_DOMAIN)) {
    const host = m[1]! + m[2]!;
    const path = (m[3] ?? "").replace(TRAILING_PUNCTUATION, "");
    const labels = m[1]!.slice(0, -1).split(".");
    if (labels.every((l) => /^\d+$/.test(l))) continue; // "1.250" style numbers never reach here, but "2.0.io"…
    const weak = WEAK_TLD.test(m[2]!);
    if (weak && path.length < 2 && !KNOWN_HOSTS.has(host)) continue;
    if (allowed(host)) continue;
    found.push({ start: m.index, end: m.index + m[1]!.length + m[2]!.length + path.length });
  }
  if (DOT_WORD.test(text)) {
    for (const m of text.matchAll(SPELLED_LINK)) {
      const labels = m[1]!.split(DOT_SPLIT);
      const first = labels[0]!;
      if (NOT_A_LABEL.has(first) || first.length < 1) continue;
      const host = `${labels.join(".")}.${m[2]}`;
      // "wa dot me", "linktr dot ee": only known hosts for TLDs that are words.
      if (SPELLED_LINK_HOSTS_ONLY_TLDS.has(m[2]!) && !KNOWN_HOSTS.has(host)) continue;
      if (allowed(host)) continue;
      found.push({ start: m.index, end: m.index + m[0].length });
    }
  }
  return found;
}
