// Real-looking phone numbers of the five languages' countries, checked with libphonenumber-js's
// own (slow, reference) validation so that every positive label is a valid number, and written
// the way people there write them.
import { isValidPhoneNumber, type CountryCode } from "libphonenumber-js/max";
import type { Lang } from "./spell-numbers.js";
import type { Rng } from "./rng.js";

export interface PhoneNumberSample {
  region: CountryCode;
  /** National digits as dialled in the country ("0612345678", "3471234567"). */
  national: string;
  /** Country calling code. */
  cc: string;
  /** The national number without the trunk "0" (what follows +cc). */
  significant: string;
  /** Group sizes of the usual national way of writing it. */
  groups: number[];
}

const REGION_OF: Record<Lang, CountryCode[]> = {
  en: ["GB", "GB", "US"],
  fr: ["FR", "FR", "FR", "BE"],
  de: ["DE", "DE", "AT", "CH"],
  es: ["ES"],
  it: ["IT", "IT", "CH"],
};

function candidate(region: CountryCode, rng: Rng): Omit<PhoneNumberSample, "region"> {
  switch (region) {
    case "FR": {
      const mobile = rng.chance(0.8);
      const national = mobile ? `0${rng.pick(["6", "7"])}${rng.digits(8)}` : `0${rng.int(1, 5)}${rng.digits(8)}`;
      return { national, cc: "33", significant: national.slice(1), groups: [2, 2, 2, 2, 2] };
    }
    case "BE": {
      const national = `04${rng.pick(["70", "71", "72", "73", "75", "76", "77", "78", "79", "84", "85", "86", "87", "88", "89", "91", "92", "93", "94", "95", "96", "97", "98", "99"])}${rng.digits(6)}`;
      return { national, cc: "32", significant: national.slice(1), groups: [4, 2, 2, 2] };
    }
    case "DE": {
      const mobile = rng.chance(0.8);
      if (mobile) {
        const prefix = rng.pick(["0151", "0152", "0157", "0160", "0162", "0163", "0170", "0171", "0172", "0173", "0174", "0175", "0176", "0177", "0178", "0179"]);
        const national = prefix + rng.digits(prefix.startsWith("015") ? 8 : 7);
        return { national, cc: "49", significant: national.slice(1), groups: [4, national.length - 4] };
      }
      const area = rng.pick(["030", "040", "089", "0221", "069", "0711"]);
      const national = area + String(rng.int(2, 9)) + rng.digits(rng.int(5, 7));
      return { national, cc: "49", significant: national.slice(1), groups: [area.length, national.length - area.length] };
    }
    case "AT": {
      const national = rng.pick(["0664", "0660", "0676", "0699", "0650"]) + rng.digits(7);
      return { national, cc: "43", significant: national.slice(1), groups: [4, 7] };
    }
    case "CH": {
      const national = rng.pick(["076", "077", "078", "079"]) + rng.digits(7);
      return { national, cc: "41", significant: national.slice(1), groups: [3, 3, 2, 2] };
    }
    case "ES": {
      const national = rng.chance(0.8) ? `6${rng.digits(8)}` : rng.pick(["91", "93", "95", "96"]) + rng.digits(7);
      return { national, cc: "34", significant: national, groups: rng.chance(0.5) ? [3, 3, 3] : [3, 2, 2, 2] };
    }
    case "IT": {
      if (rng.chance(0.85)) {
        const national = `3${rng.pick(["20", "24", "28", "29", "30", "31", "33", "34", "35", "38", "39", "40", "42", "45", "47", "48", "49", "66", "77", "80", "88", "89", "91", "93"])}${rng.digits(7)}`;
        return { national, cc: "39", significant: national, groups: [3, 3, 4] };
      }
      const national = rng.pick(["06", "02", "011", "055", "081"]) + rng.digits(7);
      return { national, cc: "39", significant: national, groups: [national.length - 7, 3, 4] };
    }
    case "GB": {
      const national = `07${rng.pick(["4", "5", "7", "8", "9"])}${rng.digits(8)}`;
      return { national, cc: "44", significant: national.slice(1), groups: [5, 6] };
    }
    default: {
      // US
      const national = `${rng.pick(["212", "415", "312", "617", "206", "305", "512", "646"])}${rng.int(2, 9)}${rng.digits(6)}`;
      return { national, cc: "1", significant: national, groups: [3, 3, 4] };
    }
  }
}

export function phoneFor(lang: Lang, rng: Rng): PhoneNumberSample {
  const region = rng.pick(REGION_OF[lang]);
  for (;;) {
    const c = candidate(region, rng);
    if (isValidPhoneNumber(c.national, region)) return { region, ...c };
  }
}

export function splitGroups(digits: string, groups: readonly number[]): string[] {
  const out: string[] = [];
  let at = 0;
  for (const g of groups) {
    if (at >= digits.length) break;
    out.push(digits.slice(at, at + g));
    at += g;
  }
  if (at < digits.length) out[out.length - 1] += digits.slice(at);
  return out;
}

/** The usual national writing, groups joined by `sep`. US numbers as "(415) 555-2671" when sep is " ". */
export function nationalWritten(p: PhoneNumberSample, sep: string): string {
  const parts = splitGroups(p.national, p.groups);
  if (p.region === "US" && sep === " ") return `(${parts[0]}) ${parts[1]}-${parts[2]}`;
  return parts.join(sep);
}

/** International writing: "+33 6 12 34 56 78", "0049 171 1234567", "+33 (0)6 12…". */
export function internationalWritten(p: PhoneNumberSample, rng: Rng): string {
  const style = rng.int(0, 3);
  const sig = p.significant;
  let groups: string[];
  if (p.region === "FR") groups = [sig.slice(0, 1), ...splitGroups(sig.slice(1), [2, 2, 2, 2])];
  else if (p.region === "DE" || p.region === "AT") groups = [sig.slice(0, 3), sig.slice(3)];
  else if (p.region === "GB") groups = [sig.slice(0, 4), sig.slice(4)];
  else if (p.region === "BE") groups = [sig.slice(0, 3), ...splitGroups(sig.slice(3), [2, 2, 2])];
  else if (p.region === "CH") groups = [sig.slice(0, 2), sig.slice(2, 5), sig.slice(5, 7), sig.slice(7)];
  else groups = splitGroups(sig, p.groups);
  const trunk = p.national.startsWith("0") && p.significant !== p.national;
  switch (style) {
    case 0:
      return `+${p.cc} ${groups.join(" ")}`;
    case 1:
      return `+${p.cc}${sig}`;
    case 2:
      return `00${p.cc} ${groups.join(" ")}`;
    default:
      return trunk ? `+${p.cc} (0)${groups.join(" ")}` : `(+${p.cc}) ${groups.join(" ")}`;
  }
}
