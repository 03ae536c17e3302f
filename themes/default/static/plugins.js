// Behaviour for plugin views. Plugins render through the kernel's
// Handlebars templates with escaping and ship no scripts (the content
// security policy forbids inline ones); what their forms and buttons do
// comes from these data-tillit-* attributes (plugin-api/README.md,
// "Templates"):
//
// - data-tillit-submit on a form: sent with fetch (method from
//   data-tillit-method, else the form's), fields as a form body, with the
//   CSRF header. On success the JSON answer's `status_text` goes into the
//   form's [data-tillit-status] and each of its `fields` into the input of
//   that name; on an error its `message` does.
// - data-tillit-draft="<key>" on a form: its text areas are kept in session
//   storage while edited, restored on reload and cleared by a successful
//   submit, so a dropped connection or a closed tab loses nothing typed.
// - data-tillit-status: where answers appear; data-tillit-unsaved holds the
//   text shown while there are unsaved edits.
// - data-tillit-copy="<id>" on a button: copies that element's value, then
//   shows data-tillit-done for a moment.
// - data-tillit-live="<key>" on an element in a plugin's room panel: a live
//   message from that plugin (the `live` capability) that is a JSON object
//   with that key sets the element's text to the key's value.
"use strict";

(() => {
  const draftKey = (form) => "tillit-draft:" + location.host + ":" + form.dataset.tillitDraft;

  function statusOf(form) {
    return form.querySelector("[data-tillit-status]");
  }

  function saveDraft(form) {
    const texts = {};
    form.querySelectorAll("textarea[name]").forEach((t) => { texts[t.name] = t.value; });
    try { sessionStorage.setItem(draftKey(form), JSON.stringify(texts)); } catch (_) { /* storage full or off */ }
  }

  function restoreDraft(form) {
    let texts = null;
    try { texts = JSON.parse(sessionStorage.getItem(draftKey(form)) || "null"); } catch (_) { texts = null; }
    if (!texts) return;
    let restored = false;
    form.querySelectorAll("textarea[name]").forEach((t) => {
      if (typeof texts[t.name] === "string" && texts[t.name] !== t.value) {
        t.value = texts[t.name];
        restored = true;
      }
    });
    if (restored) markUnsaved(form);
  }

  function markUnsaved(form) {
    const s = statusOf(form);
    if (s && s.dataset.tillitUnsaved) s.textContent = s.dataset.tillitUnsaved;
    form.dataset.tillitDirty = "true";
  }

  async function submit(form) {
    const status = statusOf(form);
    // Only to the plugins' own routes: the token this sends must never
    // reach a kernel page on a plugin's say.
    const target = new URL(form.action, location.href);
    if (target.origin !== location.origin || !target.pathname.startsWith("/plugins/")) return;
    const method = (form.dataset.tillitMethod || form.method || "POST").toUpperCase();
    const body = new URLSearchParams(new FormData(form));
    const csrf = form.querySelector("input[name=_csrf]");
    let answer = {};
    let ok = false;
    try {
      const headers = {
        "Accept": "application/json",
        "X-CSRF-Token": csrf ? csrf.value : "",
      };
      // In a visit's room: the visit the request is about.
      const room = document.getElementById("room");
      if (room && room.dataset.visit) headers["X-Tillit-Visit"] = room.dataset.visit;
      const res = await fetch(form.action, { method, body, credentials: "same-origin", headers });
      ok = res.ok;
      answer = await res.json().catch(() => ({}));
      if (!ok && !answer.message) answer.message = res.status + " " + res.statusText;
    } catch (err) {
      // The network is down: the text stays in the form and the draft.
      answer = { message: form.dataset.tillitOffline || String(err) };
    }
    if (ok) {
      for (const [name, value] of Object.entries(answer.fields || {})) {
        const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
        if (input) input.value = value;
      }
      if (form.dataset.tillitDraft) {
        try { sessionStorage.removeItem(draftKey(form)); } catch (_) { /* ignore */ }
      }
      delete form.dataset.tillitDirty;
      if (status) status.textContent = answer.status_text || "";
      form.dataset.tillitResult = "saved";
    } else {
      if (status) status.textContent = answer.message || "";
      form.dataset.tillitResult = "failed";
    }
  }

  function wire(root) {
    root.querySelectorAll("form[data-tillit-submit]").forEach((form) => {
      if (form.dataset.tillitWired) return;
      form.dataset.tillitWired = "true";
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        submit(form);
      });
      if (form.dataset.tillitDraft) {
        restoreDraft(form);
        form.addEventListener("input", () => {
          saveDraft(form);
          markUnsaved(form);
        });
      }
    });
    root.querySelectorAll("button[data-tillit-copy]").forEach((button) => {
      if (button.dataset.tillitWired) return;
      button.dataset.tillitWired = "true";
      button.addEventListener("click", async () => {
        const source = document.getElementById(button.dataset.tillitCopy);
        if (!source) return;
        const text = "value" in source ? source.value : source.textContent;
        try {
          await navigator.clipboard.writeText(text);
        } catch (_) {
          // No clipboard permission (or an insecure origin): select the
          // text so that Ctrl+C does it.
          if (source.select) source.select();
        }
        if (button.dataset.tillitDone) {
          const label = button.textContent;
          button.textContent = button.dataset.tillitDone;
          setTimeout(() => { button.textContent = label; }, 2000);
        }
      });
    });
  }

  // Unsaved text is never lost silently: the browser asks before leaving.
  window.addEventListener("beforeunload", (e) => {
    if (document.querySelector("form[data-tillit-dirty]")) {
      e.preventDefault();
      e.returnValue = "";
    }
  });

  window.addEventListener("tillit:plugin", (e) => {
    const { plugin, message } = e.detail || {};
    const panel = document.getElementById("panel-" + plugin);
    let data = null;
    try { data = JSON.parse(message); } catch (_) { return; }
    if (!panel || !data || typeof data !== "object") return;
    panel.querySelectorAll("[data-tillit-live]").forEach((el) => {
      const value = data[el.dataset.tillitLive];
      if (value !== undefined && value !== null) el.textContent = String(value);
    });
  });

  wire(document);
  window.tillitPlugins = { wire };
})();
