// What the phone screens share to keep a step on the phone until the service has it: an
// outbox in IndexedDB (one database and store per screen) and ids made on the phone, so a
// resend after a lost answer carries the same id and the service applies it once. Loaded
// before the screen's own script (/lapor, /field, the rapid assessment); served at
// /assets/phone-outbox.js by every service and kept by the screens' service workers.
"use strict";

const phoneOutbox = (() => {
  // crypto.randomUUID needs a secure context; an office LAN on plain http has none.
  function newId() {
    if (window.crypto.randomUUID) return window.crypto.randomUUID();
    const b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // One store of one database: put, read all, forget. Each call opens and closes the
  // database, so a page kept open for days never holds a stale connection.
  function open(database, storeName, keyPath) {
    function connect() {
      return new Promise((resolve, reject) => {
        const request = indexedDB.open(database, 1);
        request.onupgradeneeded = () => request.result.createObjectStore(storeName, { keyPath });
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    }

    async function run(mode, action) {
      const db = await connect();
      return new Promise((resolve, reject) => {
        const tx = db.transaction(storeName, mode);
        const request = action(tx.objectStore(storeName));
        tx.oncomplete = () => { db.close(); resolve(request.result); };
        tx.onerror = () => { db.close(); reject(tx.error); };
      });
    }

    return {
      put: (item) => run("readwrite", (s) => s.put(item)),
      all: () => run("readonly", (s) => s.getAll()),
      forget: (key) => run("readwrite", (s) => s.delete(key)),
    };
  }

  return { newId, open };
})();
