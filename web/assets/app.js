// paysaga checkout: what every page shares. Every call to /api/v1 goes through api(), so
// that authentication lives in one place.
'use strict';

const paysaga = (() => {
  // The demo shopper of the dev stack. The API contract keeps userId in request bodies.
  const USER_ID = 1;

  // A dev stack with authentication hands out a token at POST /api/v1/dev/token; without
  // it that path answers 404 and the calls go out without one. Asked once per page load.
  let tokenRequest = null;
  function token() {
    if (!tokenRequest) {
      tokenRequest = fetch('/api/v1/dev/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ userId: USER_ID }),
      })
        .then((res) => (res.ok ? res.json() : {}))
        .then((body) => (body && typeof body.token === 'string' ? body.token : ''))
        .catch(() => '');
    }
    return tokenRequest;
  }

  // api calls /api/v1 + path and resolves to {status, body}; status 0 means the server
  // could not be reached. It never throws.
  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    const bearer = await token();
    if (bearer) headers.Authorization = 'Bearer ' + bearer;
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch('/api/v1' + path, init);
    } catch (e) {
      return { status: 0, body: { code: 'NETWORK_ERROR', message: '서버에 연결할 수 없습니다. 인터넷 연결을 확인해 주세요.' } };
    }
    let data = {};
    try {
      data = await res.json();
    } catch (e) {
      data = {};
    }
    return { status: res.status, body: data || {} };
  }

  function won(amount) {
    const n = Number(amount);
    return Number.isFinite(n) ? n.toLocaleString('ko-KR') + '원' : '-';
  }

  // Times come from the API in KST (+09:00); shoppers read them in KST too.
  function when(iso) {
    if (!iso) return '-';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return d.toLocaleString('ko-KR', {
      timeZone: 'Asia/Seoul', year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit',
    });
  }

  const statusLabels = {
    CREATED: '결제 대기',
    CONFIRMING: '승인 중',
    PAID: '결제 완료',
    FAILED: '결제 실패',
    CANCELED: '결제 취소',
    PARTIAL_CANCELED: '부분 취소',
    EXPIRED: '기한 만료',
    NEEDS_ATTENTION: '확인 필요',
  };

  // statusPill renders an order status as "결제 완료 PAID": Korean for shoppers, the code
  // for whoever is debugging.
  function statusPill(status) {
    const pill = el('span', { className: 'pill ' + status, dataset: { status } }, statusLabels[status] || status);
    pill.append(' ', el('code', {}, status));
    return pill;
  }

  // el builds an element; text always goes in as text, never as HTML.
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key in node) node[key] = value;
      else node.setAttribute(key, value);
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  // rows fills a <dl class="rows"> from [label, value] pairs, skipping empty values.
  function rows(dl, pairs) {
    dl.replaceChildren();
    for (const [label, value, cls] of pairs) {
      if (value === undefined || value === null || value === '') continue;
      const dd = el('dd', { className: cls || '' }, value);
      dl.append(el('div', {}, el('dt', {}, label), dd));
    }
  }

  // paysaga's own codes answer with English messages meant for developers; shoppers get
  // these. Toss's codes come with Toss's Korean message, which is shown as it is.
  const codeTexts = {
    INVALID_REQUEST: '요청 정보가 올바르지 않아요.',
    AMOUNT_MISMATCH: '결제 금액이 주문 금액과 달라요.',
    PAYMENT_KEY_MISMATCH: '결제 정보가 주문과 맞지 않아요.',
    ORDER_ID_MISMATCH: '결제 정보가 주문과 맞지 않아요.',
    PRODUCT_NOT_FOUND: '상품을 찾을 수 없어요.',
    USER_NOT_FOUND: '고객 정보를 찾을 수 없어요.',
    ORDER_NOT_FOUND: '주문을 찾을 수 없어요.',
    OUT_OF_STOCK: '재고가 부족해요. 수량을 줄이거나 다른 상품을 골라 주세요.',
    ORDER_NOT_CONFIRMABLE: '이미 처리되었거나 기한이 지난 주문이에요.',
    PAYMENT_KEY_ALREADY_USED: '이미 다른 주문에 쓰인 결제예요.',
    PAYMENT_NOT_IN_PROGRESS: '결제 인증이 끝나지 않았거나 이미 처리된 결제예요.',
    CONFIRM_CANCELED: '결제 승인이 취소되었어요. 청구된 금액은 모두 취소되었어요.',
    PAYMENT_NOT_DONE: '결제가 승인되지 않았어요. 청구된 금액은 없어요.',
    CONFIRM_UNRESOLVED: '결제 승인 결과를 확인하지 못했어요. 청구된 금액은 없어요.',
    TOSS_UNAVAILABLE: '결제사에 연결하지 못했어요. 잠시 후 다시 시도해 주세요.',
    INTERNAL: '일시적인 오류가 생겼어요. 잠시 후 다시 시도해 주세요.',
    UNAUTHORIZED: '로그인이 필요해요.',
    FORBIDDEN: '이 주문을 볼 수 있는 권한이 없어요.',
    RATE_LIMITED: '요청이 너무 많아요. 잠시 후 다시 시도해 주세요.',
  };

  // reason is what a shopper reads about a failure with this code and message.
  function reason(code, message) {
    return codeTexts[code] || message || '알 수 없는 오류가 생겼어요.';
  }

  // detail is the API's own message when reason replaced it, for whoever is debugging.
  function detail(code, message) {
    return codeTexts[code] && message ? message : '';
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  function orderPath(orderId) {
    return '/orders/' + encodeURIComponent(orderId);
  }

  token();
  return { USER_ID, api, won, when, statusLabels, statusPill, el, rows, reason, detail, sleep, orderPath };
})();
