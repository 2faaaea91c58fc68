// The register and the rectification ledger as Excel or CSV (downloads need the login, so
// they are fetched as blobs), and the import of shelters from a CSV or Excel file.

import { api, download } from '../api.js';
import { extend, t } from '../i18n.js';
import { field, h, mount, notice } from '../ui.js';

extend({
  zh: {
    'exchange.title': '导入导出',
    'exchange.exports': '导出',
    'exchange.register': '工程登记表',
    'exchange.ledger': '整改台账',
    'exchange.import': '导入工程',
    'exchange.file': 'CSV 或 Excel 文件',
    'exchange.only_valid': '只导入无误的行',
    'exchange.send': '导入',
    'exchange.done': '已导入 {n} 行',
    'exchange.bad': '{n} 行有误：',
    'exchange.row': '第 {row} 行：{problems}',
  },
  en: {
    'exchange.title': 'Import and export',
    'exchange.exports': 'Exports',
    'exchange.register': 'Shelter register',
    'exchange.ledger': 'Rectification ledger',
    'exchange.import': 'Import shelters',
    'exchange.file': 'CSV or Excel file',
    'exchange.only_valid': 'Import only the rows without errors',
    'exchange.send': 'Import',
    'exchange.done': '{n} row(s) imported',
    'exchange.bad': '{n} row(s) with errors:',
    'exchange.row': 'row {row}: {problems}',
  },
});

function exportButton(label, name, fmt) {
  const message = h('span.small');
  return h(
    'li',
    h(
      'button.secondary.export',
      {
        type: 'button',
        dataset: { file: `${name}.${fmt}` },
        onclick: async () => {
          mount(message);
          try {
            await download(`/api/v1/exports/${name}.${fmt}`, `${name}.${fmt}`);
          } catch (err) {
            mount(message, t('error.generic', { message: err.message }));
          }
        },
      },
      `${label} (${fmt === 'xlsx' ? 'Excel' : 'CSV'})`,
    ),
    message,
  );
}

function report(r) {
  const errors = r.errors || [];
  return h(
    'div',
    notice(r.applied ? 'ok' : 'error', t('exchange.done', { n: r.imported })),
    errors.length
      ? h(
          'div',
          h('p', t('exchange.bad', { n: r.rejected })),
          h('ul', errors.slice(0, 50).map((e) => h('li', t('exchange.row', { row: e.row, problems: (e.errors || [e.error]).join('；') })))),
        )
      : null,
  );
}

export async function render(root) {
  const file = h('input', { type: 'file', name: 'file', accept: '.csv,.xlsx,text/csv', required: true });
  const onlyValid = h('input', { type: 'checkbox', name: 'only_valid' });
  const result = h('div#import-result');
  const send = h('button.primary', { type: 'submit' }, t('exchange.send'));
  mount(
    root,
    h('h1', t('exchange.title')),
    h('h2', t('exchange.exports')),
    h(
      'ul.export-list',
      exportButton(t('exchange.register'), 'shelters', 'xlsx'),
      exportButton(t('exchange.register'), 'shelters', 'csv'),
      exportButton(t('exchange.ledger'), 'ledger', 'xlsx'),
      exportButton(t('exchange.ledger'), 'ledger', 'csv'),
    ),
    h('h2', t('exchange.import')),
    h(
      'form#import-form',
      {
        onsubmit: async (event) => {
          event.preventDefault();
          if (!file.files.length) return;
          send.disabled = true;
          const form = new FormData();
          form.append('file', file.files[0], file.files[0].name);
          form.append('only_valid', onlyValid.checked ? 'true' : 'false');
          try {
            mount(result, report(await api.upload('/api/v1/imports/shelters', form)));
          } catch (err) {
            mount(result, notice('error', t('error.generic', { message: err.message })));
          } finally {
            send.disabled = false;
          }
        },
      },
      field(t('exchange.file'), file),
      h('label.check', onlyValid, t('exchange.only_valid')),
      h('div.actions', send),
    ),
    result,
  );
}
