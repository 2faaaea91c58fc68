// The city office's administration (#/admin): the way to users, shelters and sensors,
// alert-rule overrides and the manufacturer directory; the register and ledger exports and
// the shelter import; the printed signs of a district. Files the API serves only to a
// logged-in user are fetched with the token and saved from a blob (api.download).

import { api, download, query } from '../api.js';
import { number } from '../format.js';
import { extend, t } from '../i18n.js';
import { field, h, mount, notice } from '../ui.js';

extend({
  zh: {
    'admin.title': '系统管理',
    'admin.users': '用户',
    'admin.users.text': '账号、角色与所属区',
    'admin.shelters': '工程与传感器',
    'admin.shelters.text': '登记、修改工程，登记传感器，打印标识牌',
    'admin.rules': '告警规则',
    'admin.rules.text': '按工程、区域、传感器或类别调整阈值',
    'admin.makers.text': '三类问题协助联系的厂家：添加、修改、查找',
    'admin.exports': '导出',
    'admin.export.register': '工程登记表',
    'admin.export.ledger': '整改台账',
    'admin.import': '批量导入工程',
    'admin.import.file': '文件（CSV 或 Excel .xlsx）',
    'admin.import.only_valid': '只导入无误的行，报告有误的行',
    'admin.import.submit': '上传并导入',
    'admin.import.done': '已导入 {n} 处工程。',
    'admin.import.refused': '有 {n} 行有误，未导入任何工程。',
    'admin.import.partly': '已导入 {n} 处，{m} 行有误未导入。',
    'admin.import.row': '第 {row} 行{code}：{errors}',
    'admin.import.nofile': '请选择要导入的文件。',
    'admin.signs': '标识牌（按区批量打印）',
    'admin.signs.district': '区',
    'admin.signs.submit': '下载该区标识牌（PDF）',
    'admin.signs.total': '该区共 {n} 处工程，本文件含前 {m} 处。',
    'admin.failed': '未能完成：{message}',
  },
  en: {
    'admin.title': 'Administration',
    'admin.users': 'Users',
    'admin.users.text': 'Accounts, roles and districts',
    'admin.shelters': 'Shelters and sensors',
    'admin.shelters.text': 'Register and edit shelters, register sensors, print signs',
    'admin.rules': 'Alert rules',
    'admin.rules.text': 'Thresholds per shelter, zone, sensor or class',
    'admin.makers.text': 'Makers a class 3 entry is helped to reach: add, edit, find',
    'admin.exports': 'Exports',
    'admin.export.register': 'Shelter register',
    'admin.export.ledger': 'Rectification ledger',
    'admin.import': 'Import shelters',
    'admin.import.file': 'File (CSV or Excel .xlsx)',
    'admin.import.only_valid': 'Import the good rows, report the bad ones',
    'admin.import.submit': 'Upload and import',
    'admin.import.done': '{n} shelter(s) imported.',
    'admin.import.refused': '{n} row(s) are wrong; nothing was imported.',
    'admin.import.partly': '{n} imported; {m} wrong row(s) left out.',
    'admin.import.row': 'row {row}{code}: {errors}',
    'admin.import.nofile': 'Choose a file to import.',
    'admin.signs': 'Signs (a district at once)',
    'admin.signs.district': 'District',
    'admin.signs.submit': 'Download the district’s signs (PDF)',
    'admin.signs.total': '{n} shelter(s) in the district; this file has the first {m}.',
    'admin.failed': 'Not done: {message}',
  },
});

function exportButton(label, path, filename, message) {
  const button = h('button', { type: 'button', dataset: { export: path } }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    mount(message);
    try {
      await download(path, filename);
    } catch (err) {
      mount(message, notice('error', t('admin.failed', { message: err.message })));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function exportsSection() {
  const message = h('div');
  const row = (label, name) =>
    h(
      'div.export-row',
      h('p.label', label),
      h(
        'div.actions',
        exportButton(`${label} .xlsx`, `/api/v1/exports/${name}.xlsx`, `${name}.xlsx`, message),
        exportButton(`${label} .csv`, `/api/v1/exports/${name}.csv`, `${name}.csv`, message),
      ),
    );
  return h(
    'section.card#exports',
    h('h2', t('admin.exports')),
    row(t('admin.export.register'), 'shelters'),
    row(t('admin.export.ledger'), 'ledger'),
    message,
  );
}

function importSection() {
  const file = h('input', { type: 'file', id: 'import-file', name: 'file', accept: '.csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' });
  const onlyValid = h('input', { type: 'checkbox', id: 'import-only-valid' });
  const message = h('div', { 'aria-live': 'polite' });
  const submit = h('button.primary', { type: 'submit' }, t('admin.import.submit'));
  async function onSubmit(event) {
    event.preventDefault();
    const chosen = file.files && file.files[0];
    if (!chosen) {
      mount(message, notice('error', t('admin.import.nofile')));
      return;
    }
    submit.disabled = true;
    mount(message);
    const form = new FormData();
    form.append('file', chosen, chosen.name);
    form.append('only_valid', onlyValid.checked ? 'true' : 'false');
    try {
      const report = await api.upload('/api/v1/imports/shelters', form);
      let head;
      if (!report.rejected) head = notice('ok', t('admin.import.done', { n: report.imported }));
      else if (!report.applied) head = notice('error', t('admin.import.refused', { n: report.rejected }));
      else head = notice('info', t('admin.import.partly', { n: report.imported, m: report.rejected }));
      mount(
        message,
        head,
        report.errors.length
          ? h(
              'ul.small',
              report.errors.map((e) =>
                h('li', t('admin.import.row', { row: e.row, code: e.code ? `（${e.code}）` : '', errors: e.errors.join('；') })),
              ),
            )
          : null,
      );
      file.value = '';
    } catch (err) {
      mount(message, notice('error', t('admin.failed', { message: err.message })));
    } finally {
      submit.disabled = false;
    }
  }
  return h(
    'section.card#import',
    h('h2', t('admin.import')),
    h(
      'form',
      { onsubmit: onSubmit },
      field(t('admin.import.file'), file),
      h('div.field', h('label.check', { for: onlyValid.id }, onlyValid, h('span', t('admin.import.only_valid')))),
      message,
      h('div.actions', submit),
    ),
  );
}

const SIGNS_PER_FILE = 100; // GET /api/v1/signs.pdf's default (and largest) limit

function signsSection(districts) {
  const list = h('datalist#district-list', districts.map((d) => h('option', { value: d })));
  const district = h('input', { type: 'text', id: 'signs-district', name: 'district', list: 'district-list', required: true, maxlength: 64, autocomplete: 'off' });
  const message = h('div', { 'aria-live': 'polite' });
  const submit = h('button.primary', { type: 'submit' }, t('admin.signs.submit'));
  async function onSubmit(event) {
    event.preventDefault();
    const name = district.value.trim();
    if (!name) return;
    submit.disabled = true;
    mount(message);
    try {
      const path = `/api/v1/signs.pdf${query({ district: name })}`;
      const response = await download(path, `signs-${name}.pdf`);
      const total = Number(response && response.headers.get('X-Total-Count'));
      const shown = Math.min(total, SIGNS_PER_FILE);
      if (total > shown) mount(message, notice('info', t('admin.signs.total', { n: number(total), m: number(shown) })));
    } catch (err) {
      mount(message, notice('error', t('admin.failed', { message: err.message })));
    } finally {
      submit.disabled = false;
    }
  }
  return h(
    'section.card#signs',
    h('h2', t('admin.signs')),
    h('form', { onsubmit: onSubmit }, field(t('admin.signs.district'), district), list, message, h('div.actions', submit)),
  );
}

export async function render(root) {
  const shelters = await api.get('/api/v1/shelters?limit=500');
  const districts = [...new Set(shelters.items.map((s) => s.district))].sort();
  const link = (path, title, text) => h('li', h('a', { href: `#${path}` }, h('span.row-title', title), h('div.small.muted', text)));
  mount(
    root,
    h('h1', t('admin.title')),
    h(
      'ul.list.admin-links',
      link('/admin/users', t('admin.users'), t('admin.users.text')),
      link('/admin/shelters', t('admin.shelters'), t('admin.shelters.text')),
      link('/admin/rules', t('admin.rules'), t('admin.rules.text')),
      link('/manufacturers', t('mk.directory'), t('admin.makers.text')),
    ),
    exportsSection(),
    importSection(),
    signsSection(districts),
  );
}
