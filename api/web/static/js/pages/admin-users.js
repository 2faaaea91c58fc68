// Users (#/admin/users, city office): the list (GET /api/v1/users) and a new account with
// its role and district (POST /api/v1/users). A platform account's API key is shown once.

import { api } from '../api.js';
import { extend, t } from '../i18n.js';
import { field, h, mount, notice, sendingForm } from '../ui.js';

extend({
  zh: {
    'users.title': '用户',
    'users.back': '系统管理',
    'users.count': '共 {n} 个账号',
    'users.more': '只显示前 {n} 个',
    'users.new': '新建账号',
    'users.username': '用户名（字母、数字、- 或 _）',
    'users.display_name': '姓名',
    'users.phone': '电话',
    'users.email': '电子邮箱',
    'users.role': '角色',
    'users.district': '所属区（区级人员、检查员必填）',
    'users.password': '初始密码（至少 10 位）',
    'users.create': '创建账号',
    'users.created': '已创建账号 {name}。',
    'users.api_key': '平台接入密钥（只显示这一次，请妥善保存）：',
    'users.inactive': '已停用',
    'users.failed': '未能创建：{message}',
    'role.admin': '市人防办（管理员）',
    'role.district_officer': '区人防办',
    'role.inspector': '检查员',
    'role.manager': '工程长',
    'role.platform': '平台接入',
  },
  en: {
    'users.title': 'Users',
    'users.back': 'Administration',
    'users.count': '{n} account(s)',
    'users.more': 'Only the first {n} are shown',
    'users.new': 'New account',
    'users.username': 'Username (letters, digits, - or _)',
    'users.display_name': 'Name',
    'users.phone': 'Phone',
    'users.email': 'Email',
    'users.role': 'Role',
    'users.district': 'District (needed for district officers and inspectors)',
    'users.password': 'First password (at least 10 characters)',
    'users.create': 'Create the account',
    'users.created': 'Account {name} created.',
    'users.api_key': 'Platform API key (shown only now; keep it safe):',
    'users.inactive': 'deactivated',
    'users.failed': 'Not created: {message}',
    'role.admin': 'City office (admin)',
    'role.district_officer': 'District officer',
    'role.inspector': 'Inspector',
    'role.manager': 'Manager (工程长)',
    'role.platform': 'Platform account',
  },
});

const ROLES = ['inspector', 'manager', 'district_officer', 'admin', 'platform'];

/** An API refusal in words, with the fields a validation error names. */
export function refusal(err) {
  const details = Array.isArray(err.details)
    ? err.details
        .map((d) => (d && d.loc ? `${d.loc.filter((p) => p !== 'body').join('.')}: ${d.msg}` : ''))
        .filter(Boolean)
    : [];
  return details.length ? `${err.message}（${details.join('；')}）` : err.message;
}

function userItem(u) {
  return h(
    'li',
    { dataset: { username: u.username } },
    h(
      'div.row',
      h('div.row-head', h('span.row-title', u.display_name || u.username), h('span.small', t(`role.${u.role}`))),
      h('div.small.muted', [u.username, u.district, u.phone, u.active ? null : t('users.inactive')].filter(Boolean).join(' · ')),
    ),
  );
}

function createForm(done) {
  const input = (name, attrs = {}) => h('input', { name, id: `user-${name}`, autocomplete: 'off', ...attrs });
  const username = input('username', { required: true, maxlength: 64, pattern: '[A-Za-z0-9_\\-]{1,64}', autocapitalize: 'none', spellcheck: 'false' });
  const displayName = input('display_name', { maxlength: 128 });
  const phone = input('phone', { type: 'tel', maxlength: 32 });
  const email = input('email', { type: 'email', maxlength: 200 });
  const role = h('select', { name: 'role', id: 'user-role' }, ROLES.map((r) => h('option', { value: r }, t(`role.${r}`))));
  const district = input('district', { maxlength: 64 });
  const password = input('password', { type: 'password', minlength: 10, maxlength: 256, autocomplete: 'new-password' });
  const form = sendingForm({
    tag: 'form#user-form',
    fields: [
      field(t('users.username'), username),
      field(t('users.display_name'), displayName),
      field(t('users.role'), role),
      field(t('users.district'), district),
      field(t('users.phone'), phone),
      field(t('users.email'), email),
      field(t('users.password'), password),
    ],
    submit: t('users.create'),
    send: async () => {
      const created = await api.post('/api/v1/users', {
        username: username.value.trim(),
        display_name: displayName.value.trim(),
        phone: phone.value.trim() || null,
        email: email.value.trim() || null,
        role: role.value,
        district: district.value.trim() || null,
        password: password.value || null,
      });
      form.reset();
      done(
        notice(
          'ok',
          h('p', t('users.created', { name: created.username })),
          created.api_key ? [h('p', t('users.api_key')), h('p', h('code.secret', created.api_key))] : null,
        ),
      );
    },
    failed: (err) => t('users.failed', { message: refusal(err) }),
  });
  return form;
}

export async function render(root) {
  const flash = h('div', { role: 'status', 'aria-live': 'polite' });
  const list = h('div');
  async function load() {
    const page = await api.get('/api/v1/users?limit=500');
    mount(
      list,
      h('p.muted', t('users.count', { n: page.total })),
      page.total > page.items.length ? notice('info', t('users.more', { n: page.items.length })) : null,
      h('ul.list#user-list', page.items.map(userItem)),
    );
  }
  await load();
  mount(
    root,
    h('p', h('a', { href: '#/admin' }, `← ${t('users.back')}`)),
    h('h1', t('users.title')),
    flash,
    h(
      'details.card.new-user',
      h('summary', t('users.new')),
      createForm((message) => {
        mount(flash, message);
        load().catch(() => {});
      }),
    ),
    list,
  );
}
