// Is a run of digits a real phone number? Answered from libphonenumber-js's numbering plans (the
// "max" metadata: every region's national number pattern and the patterns of each number type),
// so "0612345678" is a French mobile number while "4550607080" or a shoe size list is nothing.
//
// Why not `isValidPhoneNumber()` directly: it builds a new RegExp from the metadata's pattern
// strings on every call (tens of µs per candidate), too slow for the send path. The same patterns
// are compiled once per region here and reused. The validation rule is the library's: the national
// number matches the region's national pattern and the pattern of one of its number types.
import { Metadata, isValidPhoneNumber, type CountryCode, type MetadataJson } from "libphonenumber-js/core";
import metadataJson from "libphonenumber-js/max/metadata";

// The parts of libphonenumber-js's runtime `Metadata` object read here (its typings only declare a
// few of them). Checked at start-up: if a future version renames them, validation falls back to
// `isValidPhoneNumber()` (correct, just slower).
interface NumberingPlanInternals {
  nationalNumberPattern(): string;
  nationalPrefix(): string | undefined;
  type(type: string): { pattern(): string } | undefined;
}
interface MetadataInternals {
  selectNumberingPlan(country: string): void;
  numberingPlan?: NumberingPlanInternals;
  getCountryCodesForCallingCode(callingCode: string): string[] | undefined;
  countryCallingCode(): string;
}

const NUMBER_TYPES = ["FIXED_LINE", "MOBILE", "TOLL_FREE", "PREMIUM_RATE", "SHARED_COST", "VOIP", "PERSONAL_NUMBER", "PAGER", "UAN", "VOICEMAIL"];

interface CompiledRegion {
  readonly region: string;
  readonly callingCode: string;
  readonly nationalPrefix: string | undefined;
  readonly national: RegExp;
  readonly anyType: RegExp;
}

const metadata = new Metadata(metadataJson as MetadataJson) as unknown as MetadataInternals;
const internalsAvailable =
  typeof metadata.selectNumberingPlan === "function" &&
  typeof metadata.getCountryCodesForCallingCode === "function" &&
  (() => {
    try {
      metadata.selectNumberingPlan("FR");
      const plan = metadata.numberingPlan;
      return !!plan && typeof plan.nationalNumberPattern === "function" && typeof plan.type === "function";
    } catch {
      return false;
    }
  })();

const compiled = new Map<string, CompiledRegion | null>();

function compileRegion(region: string): CompiledRegion | null {
  let entry = compiled.get(region);
  if (entry !== undefined) return entry;
  entry = null;
  try {
    metadata.selectNumberingPlan(region);
    const plan = metadata.numberingPlan!;
    const types = NUMBER_TYPES.map((t) => plan.type(t)?.pattern()).filter((p): p is string => !!p);
    entry = {
      region,
      callingCode: metadata.countryCallingCode(),
      nationalPrefix: plan.nationalPrefix() || undefined,
      national: new RegExp(`^(?:${plan.nationalNumberPattern()})$`),
      anyType: new RegExp(`^(?:${types.map((p) => `(?:${p})`).join("|") || "(?!)"})$`),
    };
  } catch {
    entry = null; // unknown region
  }
  compiled.set(region, entry);
  return entry;
}

function validNational(nationalNumber: string, region: CompiledRegion): boolean {
  return region.national.test(nationalNumber) && region.anyType.test(nationalNumber);
}

function validInternational(digits: string): boolean {
  for (let ccLength = 1; ccLength <= 3 && ccLength < digits.length; ccLength++) {
    const regions = metadata.getCountryCodesForCallingCode(digits.slice(0, ccLength));
    if (!regions) continue;
    const rest = digits.slice(ccLength);
    for (const name of regions) {
      const region = compileRegion(name);
      if (!region) continue;
      if (validNational(rest, region)) return true;
      // "+33 (0)6 12 34 56 78", "+49 0171 …": the trunk prefix written after the country code.
      if (region.nationalPrefix && rest.startsWith(region.nationalPrefix) && validNational(rest.slice(region.nationalPrefix.length), region)) return true;
    }
    return false; // calling codes are prefix-free: a match on this length excludes the others
  }
  return false;
}

function validInRegion(digits: string, region: CompiledRegion): boolean {
  const prefix = region.nationalPrefix;
  if (prefix === "0") {
    // Where the trunk prefix is "0" (most of Europe), people always write it: "612345678" is not
    // how a French number is written, and accepting it would turn many digit lists into phones.
    if (digits.startsWith(prefix) && validNational(digits.slice(1), region)) return true;
  } else if (validNational(digits, region)) {
    // Elsewhere the national number is written as it is ("415 555 2671"). The US trunk "1" in
    // front ("12345678901") is left out: serial numbers look like that far more often.
    return true;
  }
  // The country code without "+" or "00": "33612345678" (two- and three-digit codes only).
  return region.callingCode.length >= 2 && digits.length >= 11 && digits.startsWith(region.callingCode) && validNational(digits.slice(region.callingCode.length), region);
}

/**
 * Whether `digits` (only 0–9) is a valid phone number: with `international` (written after "+"),
 * for any country by its calling code; otherwise written nationally in one of `regions` (or
 * internationally after "00").
 */
export function isValidPhoneDigits(digits: string, international: boolean, regions: readonly string[]): boolean {
  if (!internalsAvailable) return fallbackValid(digits, international, regions);
  if (international) return validInternational(digits);
  if (digits.startsWith("00")) return validInternational(digits.slice(2));
  for (const name of regions) {
    const region = compileRegion(name);
    if (region && validInRegion(digits, region)) return true;
  }
  return false;
}

function fallbackValid(digits: string, international: boolean, regions: readonly string[]): boolean {
  const json = metadataJson as MetadataJson;
  if (international || digits.startsWith("00")) return isValidPhoneNumber(`+${digits.replace(/^00/, "")}`, json);
  return regions.some((r) => isValidPhoneNumber(digits, r as CountryCode, json));
}

/** Whether libphonenumber-js knows `region` (an ISO 3166-1 alpha-2 code such as "FR"). */
export function isKnownRegion(region: string): boolean {
  return internalsAvailable ? compileRegion(region) !== null : true;
}
