// Photos from the phone's camera, made fit to send from underground: an image larger than
// MAX_BYTES, or of a type the API does not take (HEIC, ...), is redrawn as a JPEG of at most
// MAX_SIDE pixels on its long side. What the browser cannot decode is kept as it is.
// picker() is the camera button with its previews, used wherever a photo is taken.

import { extend, t } from './i18n.js';
import { h, mount } from './ui.js';

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
