// The field screen: one-tap status updates for a run's stops (vanilla JS, no build).
"use strict";
const MESSAGES = JSON.parse(document.body.dataset.messages);
function say(stop, message, ok) {
  const box = stop.querySelector('.message');
  box.textContent = message; box.className = ok ? 'message ok' : 'message';
}
// Every post carries the page's CSRF token (the sign-in cookie alone is not enough).
const CSRF = document.querySelector('meta[name="csrf-token"]').content;
async function post(url, options) {
  const headers = Object.assign({'X-CSRF-Token': CSRF}, (options || {}).headers);
  const response = await fetch(url, Object.assign({method: 'POST'}, options, {headers}));
  const body = await response.json().catch(() => ({}));
  if (!response.ok) { throw new Error((body.error || response.status) + ': ' +
    (typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail))); }
  return body;
}
function postJson(url, data) {
  return post(url, {headers: {'Content-Type': 'application/json'}, body: JSON.stringify(data)});
}
function position() {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) { reject(new Error(MESSAGES.gps_error)); return; }
    navigator.geolocation.getCurrentPosition(
      p => resolve({lat: p.coords.latitude, lon: p.coords.longitude}),
      () => reject(new Error(MESSAGES.gps_error)), {enableHighAccuracy: true, timeout: 15000});
  });
}
function done() { setTimeout(() => location.reload(), 300); }
function setupSignature(canvas) {
  const pen = canvas.getContext('2d'); let drawing = false; canvas.dataset.signed = '';
  pen.lineWidth = 2; pen.lineCap = 'round';
  const at = e => { const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height]; };
  canvas.addEventListener('pointerdown', e => { drawing = true; pen.beginPath(); pen.moveTo(...at(e)); });
  canvas.addEventListener('pointermove', e => { if (!drawing) return; pen.lineTo(...at(e)); pen.stroke();
    canvas.dataset.signed = 'yes'; });
  window.addEventListener('pointerup', () => { drawing = false; });
}
document.querySelectorAll('canvas.signature').forEach(setupSignature);
document.querySelectorAll('button.depart').forEach(button => button.addEventListener('click', async () => {
  try { await post('runs/' + button.dataset.run + '/departure'); done(); }
  catch (error) { alert(error.message); }
}));
document.querySelectorAll('li.stop').forEach(stop => {
  const id = stop.dataset.delivery;
  const base = 'deliveries/' + id;
  stop.addEventListener('click', async event => {
    const action = event.target.dataset && event.target.dataset.action;
    if (!action) return;
    if (action === 'open-deliver') { stop.querySelector('.deliver-form').hidden = false; return; }
    if (action === 'open-fail') { stop.querySelector('.fail-form').hidden = false; return; }
    if (action === 'clear') { const c = stop.querySelector('canvas');
      c.getContext('2d').clearRect(0, 0, c.width, c.height); c.dataset.signed = ''; return; }
    if (action === 'arrive') {
      say(stop, MESSAGES.gps_wait, true);
      try { await postJson(base + '/arrival', {position: await position()}); say(stop, MESSAGES.saved, true); done(); }
      catch (error) { say(stop, error.message, false); }
    }
  });
  const deliverForm = stop.querySelector('.deliver-form');
  if (deliverForm) deliverForm.addEventListener('submit', async event => {
    event.preventDefault();
    say(stop, MESSAGES.gps_wait, true);
    try {
      const form = new FormData(deliverForm);
      const photo = form.get('photo');
      if (photo && photo.size) {
        const upload = new FormData(); upload.append('photo', photo);
        await post(base + '/photo', {body: upload});
      }
      const canvas = stop.querySelector('canvas');
      const data = {received_by: form.get('received_by'), relation: form.get('relation'),
        position: await position()};
      if (canvas.dataset.signed) data.signature_png_base64 = canvas.toDataURL('image/png');
      await postJson(base + '/completion', data);
      say(stop, MESSAGES.saved, true); done();
    } catch (error) { say(stop, error.message, false); }
  });
  const failForm = stop.querySelector('.fail-form');
  if (failForm) failForm.addEventListener('submit', async event => {
    event.preventDefault();
    try { await postJson(base + '/failure', {reason_code: new FormData(failForm).get('reason_code')});
      say(stop, MESSAGES.saved, true); done(); }
    catch (error) { say(stop, error.message, false); }
  });
});
