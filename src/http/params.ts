import { uuid } from "../chat/schemas.js";
import { notFound, type Subject } from "../errors/errors.js";

/** A malformed id in a path is an unknown id: not_found, like any id the caller may not see. */
export function pathUuid(id: string, subject: Subject): string {
  if (!uuid.safeParse(id).success) throw notFound(subject);
  return id;
}

/** A JSON body that is not an object (array, string, null) is read as {} plus what the path says. */
export function asObject(body: unknown): Record<string, unknown> {
  return body !== null && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}
