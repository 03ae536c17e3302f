// The visit page keeps itself current: while its state can change by
// someone else's hand (a clinician starts or ends the visit, the patient
// confirms it), it asks /visits/{id}/status every few seconds, as often as
// the page's status region says (data-poll, in seconds; 0: never). The
// answer is one word (data-key) that changes exactly when the region would;
// then the page is fetched again and the region's content swapped in place.
// The region is an aria-live region, so a screen reader hears the change
// ("Gå till besöket"). A hidden tab does not ask; it asks at once when it is
// shown again. Without scripts the page works as it is, with a link to
// reload it.
"use strict";

(() => {
  const region = document.getElementById("room-status");
  if (!region || !window.fetch || !window.DOMParser) return;
  const visit = region.dataset.visit;
  let timer = null;
  let busy = false;

  region.querySelectorAll(".js-only").forEach((el) => { el.hidden = false; });

  function every() {
    const seconds = Number(region.dataset.poll || 0);
    return seconds > 0 ? seconds * 1000 : 0;
  }

  function schedule() {
    clearTimeout(timer);
    timer = null;
    const wait = every();
    if (wait && !document.hidden) timer = setTimeout(check, wait);
  }

  // An answer that is a redirect means the session ended: the page itself
  // then shows the login page, which brings the person back here.
  function sessionEnded(r) {
    return r.type === "opaqueredirect" || r.status === 401;
  }

  async function refresh() {
    const r = await fetch(location.pathname, {
      credentials: "same-origin", cache: "no-store", redirect: "manual",
    });
    if (sessionEnded(r)) { location.reload(); return; }
    if (!r.ok) return;
    const doc = new DOMParser().parseFromString(await r.text(), "text/html");
    const fresh = doc.getElementById("room-status");
    if (!fresh) return;
    const hadFocus = region.contains(document.activeElement);
    // A copy of the list first: adopting a node takes it out of `fresh`.
    const nodes = Array.from(fresh.childNodes);
    region.replaceChildren(...nodes.map((n) => document.adoptNode(n)));
    region.dataset.key = fresh.dataset.key || "";
    region.dataset.poll = fresh.dataset.poll || "0";
    region.querySelectorAll(".js-only").forEach((el) => { el.hidden = false; });
    const page = document.getElementById("visit");
    const state = doc.getElementById("visit");
    if (page && state) page.dataset.state = state.dataset.state || "";
    if (hadFocus) {
      const next = region.querySelector("a[href], button");
      if (next) next.focus();
    }
  }

  async function check() {
    if (busy) return;
    busy = true;
    try {
      const r = await fetch("/visits/" + encodeURIComponent(visit) + "/status", {
        credentials: "same-origin", cache: "no-store", redirect: "manual",
        headers: { Accept: "application/json" },
      });
      if (sessionEnded(r)) { location.reload(); return; }
      if (r.ok) {
        const answer = await r.json();
        if (answer.key !== region.dataset.key) await refresh();
        else region.dataset.poll = String(answer.poll);
      } else if (r.status === 404 || r.status === 403) {
        // No longer this person's visit: stop asking.
        region.dataset.poll = "0";
      }
    } catch (_) {
      // Offline for a moment: ask again at the next turn.
    } finally {
      busy = false;
      schedule();
    }
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) { clearTimeout(timer); timer = null; } else if (every()) { check(); }
  });
  schedule();
})();
