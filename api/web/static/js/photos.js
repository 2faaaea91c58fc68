// Photos from the phone's camera, made fit to send from underground: an image larger than
// MAX_BYTES, or of a type the API does not take (HEIC, ...), is redrawn as a JPEG of at most
// MAX_SIDE pixels on its long side. What the browser cannot decode is kept as it is.
// picker() is the camera button with its previews, used wherever a photo is taken;
// evidenceForm() is a note with its photos sent as evidence (a fix, a class 4 milestone).

import { api } from './api.js';
import { extend, t } from './i18n.js';
import { field, h, mount, notice } from './ui.js';

extend({
  zh: {
    'photo.alt': '照片 {n}',
    'photo.remove': '删除照片 {n}',
  },
  en: {
    'photo.alt': 'Photo {n}',
    'photo.remove': 'Remove photo {n}',
  },
});

const MAX_BYTES = 1500 * 1024;
const MAX_SIDE = 1600;
const QUALITY = 0.82;
const TAKEN = ['image/jpeg', 'image/png', 'image/webp'];

export async function prepare(file) {
  if (TAKEN.includes(file.type) && file.size <= MAX_BYTES) return { blob: file, name: file.name || 'photo.jpg' };
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', QUALITY));
    if (!blob) throw new Error('encode');
    const base = (file.name || 'photo').replace(/\.[^.]*$/, '');
    return { blob, name: `${base}.jpg` };
  } catch {
    return { blob: file, name: file.name || 'photo' };
  }
}

let pickers = 0;

/**
 * A camera button (a file input that asks for the back camera, reachable by keyboard, its
 * label the visible button) and the previews of the photos taken. `list` receives
 * {blob, name, url} items; onChange runs after each addition or removal.
 */
export function picker(label, list, onChange = () => {}) {
  pickers += 1;
  const input = h('input.photo-input', { type: 'file', id: `photo-${pickers}`, accept: 'image/*', capture: 'environment', multiple: true });
  const previews = h('div.previews');
  function show() {
    mount(
      previews,
      list.map((p, i) =>
        h(
          'figure.preview',
          h('img', { src: p.url, alt: t('photo.alt', { n: i + 1 }) }),
          h('button.link', {
            type: 'button',
            'aria-label': t('photo.remove', { n: i + 1 }),
            onclick: () => {
              URL.revokeObjectURL(p.url);
              list.splice(i, 1);
              show();
              onChange();
            },
          }),
        ),
      ),
    );
  }
  input.addEventListener('change', async () => {
    for (const file of Array.from(input.files || [])) {
      const ready = await prepare(file);
      list.push({ ...ready, url: URL.createObjectURL(ready.blob) });
    }
    input.value = '';
    show();
    onChange();
  });
  show();
  return h('div.field.photo-field', input, h('label.button.photo-label', { for: input.id }, label), previews);
}

/**
 * A hidden form of a note and at least one photo, posted as multipart to `url`; `done(text.sent)`
 * when it is stored, the API's refusal shown as `text.error(message)` otherwise.
 * text: { note, photos, submit, needPhoto, sent, error }.
 */
export function evidenceForm({ className, submitClass, noteId, url, text, done, dataset = {} }) {
  const photos = [];
  const note = h('textarea', { id: noteId, name: 'note', maxlength: 4000, rows: 2 });
  const message = h('div');
  const submit = h(`button.primary.${submitClass}`, { type: 'submit' }, text.submit);
  async function onSubmit(event) {
    event.preventDefault();
    if (!photos.length) {
      mount(message, notice('error', text.needPhoto));
      return;
    }
    submit.disabled = true;
    const form = new FormData();
    form.append('note', note.value.trim());
    for (const p of photos) form.append('files', p.blob, p.name);
    try {
      await api.upload(url, form);
      done(text.sent);
    } catch (err) {
      submit.disabled = false;
      mount(message, notice('error', text.error(err.message)));
    }
  }
  return h(
    `form.${className}`,
    { hidden: true, onsubmit: onSubmit, dataset },
    field(text.note, note),
    picker(text.photos, photos, () => mount(message)),
    message,
    h('div.actions', submit),
  );
}
