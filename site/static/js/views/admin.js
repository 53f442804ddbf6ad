// The admin area: products (list, create, edit, stock, delete).

import { api, ApiError } from "../api.js";
import { clear, debounce, formatMoney, h, minorDigits, parseMoney } from "../dom.js";
import { adminNav } from "./admin_orders.js";
import { announce, field, formError, go, page, productImage, requireAdmin, showError } from "../ui.js";

export async function viewAdmin(ctx) {
  if (!requireAdmin("#/admin")) return;
  const search = h("input", { id: "admin-q", type: "search", autocomplete: "off" });
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "button secondary", hidden: true }, "Load more");
  page("Admin: products", adminNav("Products"),
    h("p", {}, h("a", { class: "button", href: "#/admin/new" }, "New product")),
    h("div", { class: "field" }, h("label", { for: "admin-q" }, "Find products by name"), search),
    h("div", { class: "table-wrap" }, h("table", { class: "admin-table" },
      h("caption", { class: "visually-hidden" }, "Products"),
      h("thead", {}, h("tr", {}, ["Name", "SKU", "Category", "Price", "Stock"].map((t) => h("th", { scope: "col" }, t)))),
      tbody)),
    h("div", { class: "more" }, more));
  let cursor = null;
  let seq = 0;
  const load = async (append) => {
    const mine = ++seq;
    const query = new URLSearchParams({ limit: "25" });
    if (search.value.trim()) query.set("q", search.value.trim());
    if (append && cursor) query.set("cursor", cursor);
    try {
      const { body } = await api("GET", `/products?${query}`);
      if (!ctx.alive() || mine !== seq) return;
      if (!append) clear(tbody);
      for (const p of body.items) {
        tbody.append(h("tr", {},
          h("th", { scope: "row" }, h("a", { href: `#/admin/product/${encodeURIComponent(p.id)}` }, p.name)),
          h("td", {}, p.sku), h("td", {}, p.category), h("td", {}, formatMoney(p.price_cents, p.currency)),
          h("td", {}, String(p.stock))));
      }
      cursor = body.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      if (ctx.alive()) showError(error);
    }
  };
  search.addEventListener("input", debounce(() => load(false), 250));
  more.addEventListener("click", () => load(true));
  await load(false);
}

export async function viewAdminProduct(ctx, { id }) {
  const isNew = id === null;
  if (!requireAdmin(isNew ? "#/admin/new" : `#/admin/product/${id}`)) return;
  page(isNew ? "New product" : "Edit product");
  const [{ body: categories }, loaded] = await Promise.all([
    api("GET", "/categories"),
    isNew ? Promise.resolve(null) : api("GET", `/products/${encodeURIComponent(id)}`, { auth: "optional" }),
  ]);
  if (!ctx.alive()) return;
  const product = loaded ? loaded.body : null;
  let etag = loaded ? loaded.headers.get("ETag") : null;
  const value = (key, fallback = "") => (product && product[key] !== null && product[key] !== undefined
    ? String(product[key]) : fallback);
  const currency = value("currency", "USD");
  const form = h("form", { class: "stack-form product-form", novalidate: true },
    field("name", "Name", { type: "text", required: true, maxlength: "200", value: value("name") }),
    field("sku", "SKU", { type: "text", required: true, maxlength: "64", pattern: "[A-Za-z0-9_-]+", value: value("sku") },
      "Letters, digits, - and _."),
    h("div", { class: "field" }, h("label", { for: "category" }, "Category"),
      h("select", { id: "category", name: "category", required: true },
        categories.items.map((c) => h("option", { value: c.slug, selected: product && product.category === c.slug },
          c.name)))),
    field("price", "Price", { type: "text", inputmode: "decimal", required: true,
      value: product ? plainAmount(product.price_cents, currency) : "" }, "For example 12.50"),
    field("currency", "Currency", { type: "text", required: true, maxlength: "3", pattern: "[A-Z]{3}",
      value: currency }, "Three capital letters, such as USD."),
    h("div", { class: "field" }, h("label", { for: "description" }, "Description"),
      h("textarea", { id: "description", name: "description", rows: "4", maxlength: "5000" }, value("description"))),
    field("image_url", "Image address (optional)", { type: "text", maxlength: "2048", value: value("image_url") },
      "An https:// address, or the /img/ path an upload sets."),
    isNew ? field("stock", "Initial stock", { type: "number", min: "0", max: "1000000", value: "0",
      inputmode: "numeric" }) : null,
    h("button", { type: "submit", class: "button" }, isNew ? "Create product" : "Save changes"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError(form, null);
    const cur = form.currency.value.trim();
    const cents = parseMoney(form.price.value, cur);
    if (cents === null) {
      formError(form, new ApiError(400, "validation_error", "Enter the price as an amount, such as 12.50.",
        [{ field: "price", issue: "not an amount" }]));
      return;
    }
    const body = {
      sku: form.sku.value.trim(),
      name: form.elements.namedItem("name").value.trim(),
      description: form.description.value,
      category: form.category.value,
      price_cents: cents,
      currency: cur,
      image_url: form.image_url.value.trim() || null,
    };
    if (isNew) {
      const stock = Number(form.stock.value || "0");
      if (!Number.isInteger(stock) || stock < 0) {
        formError(form, new ApiError(400, "validation_error", "Initial stock must be a whole number.",
          [{ field: "stock", issue: "not a whole number" }]));
        return;
      }
      body.stock = stock;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      if (isNew) {
        const { body: created } = await api("POST", "/products", { auth: "required", body });
        location.hash = `#/admin/product/${encodeURIComponent(created.id)}?created=1`;
      } else {
        const headers = etag ? { "If-Match": etag } : {};
        const response = await api("PUT", `/products/${encodeURIComponent(id)}`, { auth: "required", body, headers });
        etag = response.headers.get("ETag") || etag;
        announce(`Saved ${response.body.name}.`);
        formError(form, null);
        form.querySelector(".form-error").textContent = "";
      }
    } catch (error) {
      if (ctx.alive()) formError(form, error);
    } finally {
      button.disabled = false;
    }
  });

  const sections = [form];
  if (!isNew) {
    sections.push(imageSection(ctx, product, (updated, newEtag) => {
      etag = newEtag || etag;
      form.image_url.value = updated.image_url || "";
    }), stockSection(ctx, product), deleteSection(product));
  }
  const params = ctx.params;
  page(isNew ? "New product" : `Edit: ${product.name}`,
    params.get("created") ? h("p", { class: "notice", role: "status" }, "Product created.") : null,
    product ? h("p", {}, h("a", { href: `#/product/${encodeURIComponent(product.id)}` }, "View in the store"), " · ",
      h("a", { href: `/p/${encodeURIComponent(product.id)}` }, "Shareable product page"), " · ",
      h("a", { href: "#/admin" }, "All products")) : h("p", {}, h("a", { href: "#/admin" }, "All products")),
    ...sections);
}

const IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp"];
const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

// S3 answers a refused upload with XML: <Error><Code>..</Code><Message>..</Message></Error>.
async function uploadRefusal(response) {
  const text = await response.text().catch(() => "");
  const message = /<Message>([^<]*)<\/Message>/.exec(text);
  return `The image could not be stored (HTTP ${response.status}${message ? `: ${message[1]}` : ""}).`;
}

// Upload: sign (the API also points the product at the new image), post the file to
// the signed form's URL (same origin), then read the product back. A failed post puts
// the previous image back, so the product never points at a missing file.
function imageSection(ctx, product, onChanged) {
  const preview = h("div", { class: "image-preview" }, productImage(product));
  const input = h("input", { id: "image-file", name: "image", type: "file", accept: IMAGE_TYPES.join(","),
    "aria-describedby": "image-file-hint" });
  const button = h("button", { type: "submit", class: "button" }, "Upload");
  const form = h("form", { class: "stack-form image-form", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "image-file" }, "Image"), input,
      h("span", { class: "hint", id: "image-file-hint" }, "JPEG, PNG or WebP, at most 5 MB.")),
    button);
  let previous = product.image_url;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError(form, null);
    const file = input.files && input.files[0];
    if (!file) {
      formError(form, new ApiError(400, "validation_error", "Choose an image file first.", [{ field: "image", issue: "required" }]));
      return;
    }
    if (!IMAGE_TYPES.includes(file.type)) {
      formError(form, new ApiError(400, "validation_error", "The image must be a JPEG, PNG or WebP file.",
        [{ field: "image", issue: "wrong type" }]));
      return;
    }
    if (file.size > MAX_IMAGE_BYTES || file.size === 0) {
      formError(form, new ApiError(400, "validation_error", file.size ? "The image is larger than 5 MB." : "The file is empty.",
        [{ field: "image", issue: "wrong size" }]));
      return;
    }
    button.disabled = true;
    button.textContent = "Uploading…";
    const id = encodeURIComponent(product.id);
    try {
      const { body: signed } = await api("POST", `/products/${id}/image`, { auth: "required",
        body: { content_type: file.type } });
      const data = new FormData();
      for (const [name, value] of Object.entries(signed.upload.fields)) data.append(name, value);
      data.append("file", file);
      let response;
      try {
        response = await fetch(signed.upload.url, { method: "POST", body: data });
      } catch {
        response = null;
      }
      if (!response || !response.ok) {
        const reason = response ? await uploadRefusal(response) : "The image could not be sent. Check your connection.";
        const restored = await restoreImage(id, previous);
        if (restored && ctx.alive()) onChanged(restored.body, restored.headers.get("ETag"));
        throw new Error(reason);
      }
      const fresh = await api("GET", `/products/${id}`, { auth: "optional" });
      if (!ctx.alive()) return;
      previous = fresh.body.image_url;
      clear(preview).append(productImage(fresh.body));
      onChanged(fresh.body, fresh.headers.get("ETag"));
      input.value = "";
      announce("Image uploaded.");
    } catch (error) {
      if (ctx.alive()) formError(form, error);
    } finally {
      button.disabled = false;
      button.textContent = "Upload";
    }
  });
  return h("section", { "aria-labelledby": "image-heading", class: "panel" },
    h("h2", { id: "image-heading" }, "Product image"), preview, form);
}

// The product as it was before the signing pointed it at the new key; the answer (with
// its new ETag) or null when that did not work (the error shown is the upload's).
async function restoreImage(id, imageUrl) {
  try {
    const { body: current, headers } = await api("GET", `/products/${id}`, { auth: "optional" });
    const body = {};
    for (const key of ["sku", "name", "description", "category", "price_cents", "currency"]) body[key] = current[key];
    body.image_url = imageUrl || null;
    return await api("PUT", `/products/${id}`, { auth: "required", body, headers: { "If-Match": headers.get("ETag") } });
  } catch {
    return null;
  }
}

function plainAmount(minor, currency) {
  const digits = minorDigits(currency);
  const text = String(minor).padStart(digits + 1, "0");
  return digits ? `${text.slice(0, -digits)}.${text.slice(-digits)}` : text;
}

function stockSection(ctx, product) {
  const current = h("strong", { id: "current-stock" }, String(product.stock));
  const form = h("form", { class: "stack-form stock-form", novalidate: true },
    h("fieldset", {}, h("legend", {}, "Change by"),
      h("label", { class: "inline" }, h("input", { type: "radio", name: "mode", value: "delta", checked: true }),
        " add or remove (use a minus sign to remove)"),
      h("label", { class: "inline" }, h("input", { type: "radio", name: "mode", value: "set" }), " set to")),
    field("amount", "Amount", { type: "number", required: true, inputmode: "numeric", step: "1" }),
    h("button", { type: "submit", class: "button" }, "Update stock"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError(form, null);
    const amount = Number(form.amount.value);
    if (form.amount.value.trim() === "" || !Number.isInteger(amount)) {
      formError(form, new ApiError(400, "validation_error", "Enter a whole number.",
        [{ field: "amount", issue: "not a whole number" }]));
      return;
    }
    const mode = form.mode.value === "set" ? "set" : "delta";
    try {
      const { body } = await api("POST", `/products/${encodeURIComponent(product.id)}/stock`,
        { auth: "required", body: { [mode]: amount } });
      if (!ctx.alive()) return;
      current.textContent = String(body.stock);
      form.amount.value = "";
      announce(`Stock is now ${body.stock}.`);
    } catch (error) {
      if (ctx.alive()) formError(form, error);
    }
  });
  return h("section", { "aria-labelledby": "stock-heading", class: "panel" },
    h("h2", { id: "stock-heading" }, "Stock"), h("p", {}, "In stock now: ", current), form);
}

function deleteSection(product) {
  const button = h("button", { type: "button", class: "button danger" }, "Delete product");
  const section = h("section", { "aria-labelledby": "delete-heading", class: "panel" },
    h("h2", { id: "delete-heading" }, "Delete"), h("p", {}, "Deleting removes the product from the store."), button);
  button.addEventListener("click", async () => {
    if (!window.confirm(`Delete ${product.name}? This cannot be undone.`)) return;
    try {
      await api("DELETE", `/products/${encodeURIComponent(product.id)}`, { auth: "required" });
      announce(`Deleted ${product.name}.`, { persist: true });
      go("#/admin");
    } catch (error) {
      showError(error);
    }
  });
  return section;
}
