import type { MessageView } from "@marketchat/client";

export function price(cents: number | null | undefined, currency: string | null | undefined): string {
  if (cents === null || cents === undefined) return "";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currency ?? "EUR" }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency ?? ""}`.trim();
  }
}

export function clock(iso: string): string {
  const d = new Date(iso);
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay
    ? d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

export function ago(iso: string | null): string {
  if (!iso) return "";
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export function initials(name: string | null | undefined): string {
  return (name ?? "?")
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]!.toUpperCase())
    .join("");
}

/** One line about a message, for the conversation list and reply quotes. */
export function snippet(m: MessageView, max = 80): string {
  if (m.deletedAt) return "Message unsent";
  if (m.type === "offer" && m.offer) return `Offer ${price(m.offer.amountCents, m.offer.currency)} · ${m.offer.status}`;
  if (m.content) return m.content.length > max ? `${m.content.slice(0, max)}…` : m.content;
  if (m.attachments.length > 1) return `${m.attachments.length} photos`;
  return m.attachments.length ? "Photo" : m.type;
}
