// Hard negatives with varying figures: sentences from marketplace talk whose prices, dates, times,
// sizes and references are drawn at random, so numbers of every shape meet the detector.
import type { Lang } from "./spell-numbers.js";
import type { Rng } from "./rng.js";

export const NEGATIVE_FRAMES: Record<Lang, readonly [string, string][]> = {
  en: [
    ["neg_price", "Would you do {price}? I can pick up on {date} around {time}"],
    ["neg_price", "Asking {price} ono, it was {price} new in {year}"],
    ["neg_size", "It's a size {size}, fits like {size} honestly. {dim} when laid flat"],
    ["neg_date", "Posted it on {date}, tracking says it arrives {date}"],
    ["neg_order", "Thanks! Order {order} is on its way, {qty} items in one parcel"],
    ["neg_misc", "{qty} left in stock, {price} each or {price} for the lot"],
    ["neg_address", "Collection from {street}, {zip}, any time after {time}"],
    ["neg_misc", "Model year {year}, {km} miles, service due {date}"],
  ],
  fr: [
    ["neg_price", "Vous me le feriez à {price} ? Je peux passer le {date} vers {time}"],
    ["neg_price", "Je le vends {price}, payé {price} neuf en {year}"],
    ["neg_size", "C'est du {size}, ça taille comme du {size}. À plat : {dim}"],
    ["neg_date", "Envoyé le {date}, livraison estimée le {date}"],
    ["neg_order", "Merci ! La commande {order} est partie, {qty} articles dans le colis"],
    ["neg_misc", "Il en reste {qty}, {price} pièce ou {price} le tout"],
    ["neg_address", "À récupérer au {street}, {zip}, à partir de {time}"],
    ["neg_misc", "Année {year}, {km} km, prochaine révision le {date}"],
  ],
  de: [
    ["neg_price", "Würdest du es für {price} machen? Ich kann am {date} gegen {time} kommen"],
    ["neg_price", "VB {price}, neu hat es {year} {price} gekostet"],
    ["neg_size", "Größe {size}, fällt aus wie {size}. Liegend gemessen {dim}"],
    ["neg_date", "Am {date} verschickt, Zustellung voraussichtlich {date}"],
    ["neg_order", "Danke! Bestellung {order} ist raus, {qty} Artikel in einem Paket"],
    ["neg_misc", "Noch {qty} Stück da, {price} pro Stück oder {price} alle"],
    ["neg_address", "Abholung {street}, {zip}, ab {time}"],
    ["neg_misc", "Baujahr {year}, {km} km, nächster Service am {date}"],
  ],
  es: [
    ["neg_price", "¿Me lo dejarías en {price}? Puedo pasar el {date} sobre las {time}"],
    ["neg_price", "Lo vendo por {price}, me costó {price} nuevo en {year}"],
    ["neg_size", "Es una talla {size}, queda como una {size}. En plano mide {dim}"],
    ["neg_date", "Enviado el {date}, entrega prevista el {date}"],
    ["neg_order", "¡Gracias! El pedido {order} ya salió, {qty} artículos en un paquete"],
    ["neg_misc", "Quedan {qty}, {price} cada uno o {price} todos"],
    ["neg_address", "Recogida en {street}, {zip}, a partir de las {time}"],
    ["neg_misc", "Año {year}, {km} km, próxima revisión el {date}"],
  ],
  it: [
    ["neg_price", "Me lo faresti a {price}? Posso passare il {date} verso le {time}"],
    ["neg_price", "Lo vendo a {price}, pagato {price} nuovo nel {year}"],
    ["neg_size", "È una taglia {size}, veste come una {size}. Misure in piano {dim}"],
    ["neg_date", "Spedito il {date}, consegna prevista il {date}"],
    ["neg_order", "Grazie! L'ordine {order} è partito, {qty} articoli in un pacco"],
    ["neg_misc", "Ne restano {qty}, {price} l'uno o {price} tutti"],
    ["neg_address", "Ritiro in {street}, {zip}, dalle {time}"],
    ["neg_misc", "Anno {year}, {km} km, prossimo tagliando il {date}"],
  ],
};

const STREETS: Record<Lang, readonly string[]> = {
  en: ["12 Church Lane", "7 Victoria Road", "Flat 4, 88 High Street", "23 Mill Close"],
  fr: ["8 rue Victor Hugo", "27 avenue de la République", "3 bis place du Marché", "112 boulevard Voltaire"],
  de: ["Bahnhofstraße 14", "Gartenweg 3a", "Schillerstraße 27", "Am Markt 8"],
  es: ["Calle de Alcalá 45", "Av. de la Constitución 12", "Plaza Mayor 3", "Calle Sol 7, 3ºB"],
  it: ["Via Garibaldi 21", "Corso Vittorio Emanuele 104", "Piazza Dante 5", "Via dei Mille 33"],
};
const ZIPS: Record<Lang, readonly string[]> = {
  en: ["M14 5RE", "LS6 2AB", "BS1 4DJ", "EH3 9QN"],
  fr: ["75011 Paris", "13008 Marseille", "31000 Toulouse", "44000 Nantes"],
  de: ["10115 Berlin", "80331 München", "20095 Hamburg", "04109 Leipzig"],
  es: ["28013 Madrid", "08002 Barcelona", "41001 Sevilla", "46002 Valencia"],
  it: ["00184 Roma", "20121 Milano", "10121 Torino", "80133 Napoli"],
};

function price(lang: Lang, rng: Rng): string {
  const amount = rng.pick([rng.int(5, 95), rng.int(100, 990), rng.int(1000, 4999)]);
  const cents = rng.chance(0.3) ? rng.int(0, 99) : null;
  const thousands = (n: number, sep: string) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, sep);
  if (lang === "en") {
    const sym = rng.pick(["£", "$", "€"]);
    return `${sym}${thousands(amount, ",")}${cents !== null ? `.${String(cents).padStart(2, "0")}` : ""}`;
  }
  const sep = lang === "fr" ? rng.pick([" ", "\u202f", "."]) : ".";
  const body = `${thousands(amount, sep)}${cents !== null ? `,${String(cents).padStart(2, "0")}` : ""}`;
  return rng.pick([`${body} €`, `${body}€`, `${body} euros`, `€${body}`]);
}

function date(lang: Lang, rng: Rng): string {
  const d = String(rng.int(1, 28)).padStart(2, "0");
  const m = String(rng.int(1, 12)).padStart(2, "0");
  const y = rng.pick(["2024", "2025", "24", "25"]);
  if (lang === "de") return rng.pick([`${d}.${m}.${y}`, `${d}.${m}.`]);
  if (lang === "en" && rng.chance(0.3)) return `20${y.slice(-2)}-${m}-${d}`;
  return rng.pick([`${d}/${m}/${y}`, `${d}/${m}`, `${d}.${m}.${y}`]);
}

function time(lang: Lang, rng: Rng): string {
  const h = rng.int(8, 21);
  const min = rng.pick(["00", "15", "30", "45"]);
  if (lang === "fr") return rng.pick([`${h}h${min}`, `${h}h`, `${h}:${min}`]);
  if (lang === "de") return rng.pick([`${h}:${min} Uhr`, `${h} Uhr`]);
  if (lang === "en") return rng.pick([`${h}:${min}`, `${h > 12 ? h - 12 : h}pm`, `${h}.${min}`]);
  return `${h}:${min}`;
}

function size(lang: Lang, rng: Rng): string {
  return rng.pick([String(rng.int(34, 46)), `${rng.int(34, 44)}-${rng.int(36, 46)}`, `EU ${rng.int(36, 46)}`, rng.pick(["S", "M", "L", "XL"]), `${rng.int(34, 44)}/${rng.int(30, 36)}`, lang === "en" ? `UK ${rng.int(4, 12)}` : `${rng.int(36, 46)}`]);
}

function dim(rng: Rng): string {
  return rng.pick([`${rng.int(30, 200)}x${rng.int(20, 120)} cm`, `${rng.int(30, 200)} x ${rng.int(20, 120)} x ${rng.int(10, 90)} cm`, `${rng.int(40, 80)}×${rng.int(30, 70)}cm`]);
}

export function fillNegative(frame: string, lang: Lang, rng: Rng): string {
  return frame.replace(/\{(\w+)\}/g, (_, slot: string) => {
    switch (slot) {
      case "price":
        return price(lang, rng);
      case "date":
        return date(lang, rng);
      case "time":
        return time(lang, rng);
      case "size":
        return size(lang, rng);
      case "dim":
        return dim(rng);
      case "year":
        return String(rng.int(2005, 2024));
      case "qty":
        return String(rng.int(2, 60));
      case "km":
        return rng.pick([`${rng.int(20, 250)}.000`, `${rng.int(20, 250)} 000`, `${rng.int(20, 250)},000`, String(rng.int(20000, 250000))]);
      case "order":
        return `#${rng.pick(["A", "B", "C", "K", "M"])}-${rng.int(10000, 99999)}`;
      case "street":
        return rng.pick(STREETS[lang]);
      case "zip":
        return rng.pick(ZIPS[lang]);
      default:
        throw new Error(`unknown slot ${slot}`);
    }
  });
}
