// Strings of the app in Simplified Chinese (the default) and English.
// t(key, vars) looks a key up in the current language, then in Chinese, and fills {name}
// placeholders from vars. Page modules add their own strings with extend({zh: {...}, en: {...}}).

const KEY = 'sw.lang';
export const LANGS = ['zh', 'en'];

const dicts = {
  zh: {
    'app.name': '人防工程',
    'app.loading': '加载中…',
    'nav.label': '主导航',
    'nav.shelters': '工程',
    'nav.outbox': '待发送',
    'nav.my': '我的工程',
    'nav.dashboard': '总览',
    'nav.sweeps': '巡查',
    'nav.followups': '整改',
    'nav.exchange': '导入导出',
    'nav.admin': '管理',
    'lang.other': 'English',
    'logout': '退出',
    'logout.pending': '还有 {n} 份检查未发送。退出后它们保留在本机，下次登录后发送。仍要退出吗？',
    'login.title': '登录',
    'login.username': '用户名',
    'login.password': '密码',
    'login.submit': '登录',
    'login.failed': '用户名或密码错误',
    'login.offline': '没有网络，无法登录',
    'error.not_found': '未找到',
    'error.not_found.text': '该页面不存在，或您无权查看。',
    'error.offline': '没有网络连接',
    'error.generic': '出错了：{message}',
    'error.retry': '重试',
    'net.offline': '离线：数据保存在本机，联网后自动发送',
    'net.pending': '{n} 份检查待发送',
    'common.back': '返回',
    'common.home': '首页',
    'common.search': '搜索',
    'common.none': '无',
    'common.save': '保存',
    'common.cancel': '取消',
    'class.ungraded': '未评级',
    'class.1': '一类',
    'class.2': '二类',
    'class.3': '三类',
    'class.4': '四类',
    'days.left': '剩余 {n} 天',
    'days.today': '今日到期',
    'days.overdue': '逾期 {n} 天',
    'kind.notice': '整改通知书',
    'kind.ledger': '问题台账',
    'kind.key_supervision': '重点督导',
    'kind.referral': '移交执法',
    'finding.status.open': '待整改',
    'finding.status.fix_reported': '已报整改，待核验',
    'finding.status.closed': '已关闭',
    'alert.severity.critical': '严重',
    'alert.severity.warning': '警告',
    'alert.severity.info': '提示',
    'ms.title': '督导节点',
    'ms.containment': '控制险情',
    'ms.plan': '报送整改方案',
    'ms.completion': '完成整改',
    'ms.due': '期限 {time}',
    'ms.done': '{time} 已完成',
    'ms.pending': '未完成',
    'ms.recorded': '{who} 于 {time} 记录：{note}',
    'ms.evidence': '佐证材料 {n} 份',
    'ms.record': '记录{what}',
    'ms.note': '完成情况说明',
    'ms.photos': '拍摄佐证照片',
    'ms.submit': '提交记录',
    'ms.need_photo': '请至少拍一张佐证照片。',
    'ms.sent': '{what}已记录。',
    'ms.error': '未能完成：{message}',
    'oc.title': '执法结果',
    'oc.none': '尚未记录执法结果',
    'oc.record': '记录执法结果',
    'oc.correct': '更正执法结果',
    'oc.status': '结果',
    'oc.status.referred': '已移交，待处理',
    'oc.status.warning': '警告并责令限期改正',
    'oc.status.fined': '罚款',
    'oc.status.dismissed': '不予处罚',
    'oc.status.other': '其他',
    'oc.party': '当事人类型',
    'oc.party.unit': '单位',
    'oc.party.individual': '个人',
    'oc.fine': '罚款金额（元）',
    'oc.fine.hint': '单位 1万–5万元；个人按本市规定',
    'oc.fine.value': '{n} 元',
    'oc.note': '说明',
    'oc.reason': '更正原因（必填）',
    'oc.reason.value': '更正原因：{reason}',
    'oc.submit': '保存执法结果',
    'oc.correct.submit': '保存更正',
    'oc.recorded': '执法结果已记录。',
    'oc.corrected': '更正已记录，原记录保留。',
    'oc.out_of_range': '罚款金额超出规定范围：{message}',
    'oc.kind.outcome': '记录',
    'oc.kind.correction': '更正',
    'oc.by': '{who} · {time}',
  },
  en: {
    'app.name': 'ShelterWatch',
    'app.loading': 'Loading…',
    'nav.label': 'Main navigation',
    'nav.shelters': 'Shelters',
    'nav.outbox': 'To send',
    'nav.my': 'My shelters',
    'nav.dashboard': 'Overview',
    'nav.sweeps': 'Sweeps',
    'nav.followups': 'Follow-ups',
    'nav.exchange': 'Import/export',
    'nav.admin': 'Admin',
    'lang.other': '中文',
    'logout': 'Log out',
    'logout.pending': '{n} inspection(s) are not sent yet. They stay on this phone and are sent after you log in again. Log out anyway?',
    'login.title': 'Log in',
    'login.username': 'Username',
    'login.password': 'Password',
    'login.submit': 'Log in',
    'login.failed': 'Wrong username or password',
    'login.offline': 'No network: cannot log in',
    'error.not_found': 'Not found',
    'error.not_found.text': 'This page does not exist or you may not see it.',
    'error.offline': 'No network connection',
    'error.generic': 'Something went wrong: {message}',
    'error.retry': 'Retry',
    'net.offline': 'Offline: work is kept on this phone and sent when the network returns',
    'net.pending': '{n} inspection(s) waiting to be sent',
    'common.back': 'Back',
    'common.home': 'Home',
    'common.search': 'Search',
    'common.none': 'None',
    'common.save': 'Save',
    'common.cancel': 'Cancel',
    'class.ungraded': 'Ungraded',
    'class.1': 'Class 1',
    'class.2': 'Class 2',
    'class.3': 'Class 3',
    'class.4': 'Class 4',
    'days.left': '{n} day(s) left',
    'days.today': 'Due today',
    'days.overdue': '{n} day(s) overdue',
    'kind.notice': 'Rectification notice (整改通知书)',
    'kind.ledger': 'Problem ledger (问题台账)',
    'kind.key_supervision': 'Key supervision (重点督导)',
    'kind.referral': 'Referral to law enforcement (移交执法)',
    'finding.status.open': 'to fix',
    'finding.status.fix_reported': 'fix reported, awaiting verification',
    'finding.status.closed': 'closed',
    'alert.severity.critical': 'Critical',
    'alert.severity.warning': 'Warning',
    'alert.severity.info': 'Info',
    'ms.title': 'Milestones',
    'ms.containment': 'Danger contained',
    'ms.plan': 'Rectification plan handed in',
    'ms.completion': 'Rectification complete',
    'ms.due': 'due {time}',
    'ms.done': 'done {time}',
    'ms.pending': 'not done',
    'ms.recorded': 'recorded by {who} at {time}: {note}',
    'ms.evidence': '{n} file(s) of evidence',
    'ms.record': 'Record: {what}',
    'ms.note': 'What was done',
    'ms.photos': 'Photograph the evidence',
    'ms.submit': 'Save the record',
    'ms.need_photo': 'Take at least one photo as evidence.',
    'ms.sent': 'Recorded: {what}.',
    'ms.error': 'Not done: {message}',
    'oc.title': 'Enforcement outcome',
    'oc.none': 'No outcome recorded yet',
    'oc.record': 'Record the outcome',
    'oc.correct': 'Correct the outcome',
    'oc.status': 'Outcome',
    'oc.status.referred': 'Referred, no decision yet',
    'oc.status.warning': 'Warning with an order to correct',
    'oc.status.fined': 'Fined',
    'oc.status.dismissed': 'No case',
    'oc.status.other': 'Other',
    'oc.party': 'Party',
    'oc.party.unit': 'Unit',
    'oc.party.individual': 'Individual',
    'oc.fine': 'Fine (yuan)',
    'oc.fine.hint': 'Units 10,000–50,000; individuals as the city rules',
    'oc.fine.value': '{n} yuan',
    'oc.note': 'Note',
    'oc.reason': 'Why it is corrected (required)',
    'oc.reason.value': 'Corrected because: {reason}',
    'oc.submit': 'Save the outcome',
    'oc.correct.submit': 'Save the correction',
    'oc.recorded': 'Outcome recorded.',
    'oc.corrected': 'Correction recorded; the earlier record is kept.',
    'oc.out_of_range': 'The fine is outside the allowed range: {message}',
    'oc.kind.outcome': 'recorded',
    'oc.kind.correction': 'correction',
    'oc.by': '{who} · {time}',
  },
};

function stored() {
  try {
    const value = localStorage.getItem(KEY);
    return LANGS.includes(value) ? value : 'zh';
  } catch {
    return 'zh';
  }
}

let current = stored();

export function lang() {
  return current;
}

export function t(key, vars) {
  let text = dicts[current][key] ?? dicts.zh[key] ?? key;
  if (vars) {
    text = text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
  }
  return text;
}

export function has(key) {
  return key in dicts[current] || key in dicts.zh;
}

export function extend(more) {
  for (const [code, strings] of Object.entries(more)) {
    if (dicts[code]) Object.assign(dicts[code], strings);
  }
}

export function setLang(code) {
  if (!LANGS.includes(code)) return;
  current = code;
  try {
    localStorage.setItem(KEY, code);
  } catch {
    // private mode: the choice lasts for this page only
  }
  document.documentElement.lang = code === 'zh' ? 'zh-CN' : 'en';
  window.dispatchEvent(new CustomEvent('langchange', { detail: code }));
}

document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
