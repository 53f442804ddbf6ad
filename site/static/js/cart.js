// The cart, kept in localStorage (shared by the store's tabs). Lines remember the name
// and price seen when added, for display; the order API prices the order itself.

const STORAGE_KEY = "store.cart.v1";
const listeners = new Set();

function read() {
  try {
    const lines = JSON.parse(localStorage.getItem(STORAGE_KEY) || "[]");
    return Array.isArray(lines) ? lines.filter((l) => l && typeof l.product_id === "string" && l.quantity > 0) : [];
  } catch {
    return [];
  }
}

function write(lines) {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(lines));
  for (const listener of listeners) listener(lines);
}

window.addEventListener("storage", (event) => {
  if (event.key === STORAGE_KEY) for (const listener of listeners) listener(read());
});

export const cart = {
  lines: read,
  onChange(listener) {
    listeners.add(listener);
  },
  count() {
    return read().reduce((sum, line) => sum + line.quantity, 0);
  },
  add(product, quantity = 1) {
    const lines = read();
    const line = lines.find((l) => l.product_id === product.id);
    if (line) line.quantity += quantity;
    else lines.push({ product_id: product.id, name: product.name, price_cents: product.price_cents,
      currency: product.currency, quantity });
    write(lines);
  },
  setQuantity(productId, quantity) {
    const lines = read();
    const line = lines.find((l) => l.product_id === productId);
    if (!line) return;
    line.quantity = quantity;
    write(lines.filter((l) => l.quantity > 0));
  },
  remove(productId) {
    write(read().filter((l) => l.product_id !== productId));
  },
  clear() {
    write([]);
  },
};
