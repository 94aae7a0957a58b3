// The shop: pick a product and a quantity, then 결제하기 creates the order on the server
// (which issues the orderId and checks amount = price × quantity) and hands the shopper to
// the payment step: the simulator's payment window on the dev stack, or Toss's payment
// widget when a Toss client key is configured. Both come back to /success or /fail.
'use strict';

(() => {
  const { api, won, el, reason, USER_ID } = paysaga;
  const MAX_QUANTITY = 100; // paysaga.MaxQuantity
  const TOSS_SDK = 'https://js.tosspayments.com/v2/standard';

  const $ = (id) => document.getElementById(id);
  const form = $('checkout');
  const list = $('products');
  const quantityInput = $('quantity');
  const payButton = $('pay');
  const errorBox = $('error');

  let products = [];
  let config = { mode: 'none' };
  let widgets = null; // Toss payment widget, in toss mode
  let busy = false;
  let busyLabel = '';

  function selected() {
    const checked = form.querySelector('input[name="product"]:checked');
    return checked ? products.find((p) => String(p.id) === checked.value) : undefined;
  }

  function quantity() {
    const text = quantityInput.value.trim();
    return /^\d+$/.test(text) ? Number(text) : NaN;
  }

  function maxQuantity(product) {
    return product ? Math.max(1, Math.min(MAX_QUANTITY, product.stock)) : MAX_QUANTITY;
  }

  // total is the amount the order will ask for, or NaN when the choice is not valid.
  function total() {
    const p = selected();
    const n = quantity();
    if (!p || !(n >= 1 && n <= maxQuantity(p)) || p.stock < 1) return NaN;
    return Number(p.price) * n;
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  function setBusy(on, label) {
    busy = on;
    busyLabel = label || '';
    payButton.setAttribute('aria-busy', on ? 'true' : 'false');
    update();
  }

  function renderProducts() {
    const keep = selected();
    list.replaceChildren();
    for (const p of products) {
      const soldOut = p.stock < 1;
      const input = el('input', {
        type: 'radio', name: 'product', value: String(p.id), disabled: soldOut,
        id: 'product-' + p.id,
      });
      const stockText = soldOut ? '품절' : p.stock <= 5 ? `${p.stock}개 남음` : `재고 ${p.stock.toLocaleString('ko-KR')}개`;
      const label = el('label', { className: 'product' + (soldOut ? ' soldout' : ''), htmlFor: input.id, dataset: { productName: p.name } },
        input,
        el('span', { className: 'thumb', 'aria-hidden': 'true' }, [...p.name][0] || '·'),
        el('span', {},
          el('span', { className: 'name' }, p.name),
          el('span', { className: 'stock' + (!soldOut && p.stock <= 5 ? ' low' : '') }, stockText)),
        el('span', { className: 'price' }, won(p.price)),
        el('span', { className: 'check', 'aria-hidden': 'true' }, '✓'));
      list.append(el('li', {}, label));
    }
    const again = keep && products.find((p) => p.id === keep.id && p.stock > 0);
    const first = again || products.find((p) => p.stock > 0);
    if (first) $('product-' + first.id).checked = true;
    const status = $('products-status');
    status.textContent = products.length === 0 ? '판매 중인 상품이 없어요.' : '';
    status.hidden = products.length > 0;
    update();
  }

  function update() {
    const p = selected();
    const n = quantity();
    const max = maxQuantity(p);
    quantityInput.max = String(max);
    $('quantity-down').disabled = busy || !(n > 1);
    $('quantity-up').disabled = busy || !(n < max);
    $('selected-name').textContent = p ? p.name : '-';
    $('unit-price').textContent = p ? won(p.price) : '-';
    const amount = total();
    $('total').textContent = Number.isNaN(amount) ? '-' : won(amount);

    const hint = $('quantity-hint');
    const invalid = p !== undefined && Number.isNaN(amount);
    quantityInput.setAttribute('aria-invalid', invalid ? 'true' : 'false');
    if (!Number.isInteger(n) || n < 1) hint.textContent = '수량은 1 이상의 숫자로 입력해 주세요.';
    else if (p && n > max) hint.textContent = p.stock < MAX_QUANTITY ? `재고가 ${p.stock}개 남았어요.` : `한 번에 최대 ${MAX_QUANTITY}개까지 주문할 수 있어요.`;
    else hint.textContent = `한 번에 최대 ${MAX_QUANTITY}개까지 주문할 수 있어요.`;

    payButton.disabled = busy || Number.isNaN(amount) || config.mode === 'none' || (config.mode === 'toss' && !widgets);
    // The amount on the button, as Korean shops do: on a phone the button stays in view
    // while the summary above it scrolls.
    payButton.textContent = busy ? busyLabel : Number.isNaN(amount) ? '결제하기' : won(amount) + ' 결제하기';
    if (widgets && !Number.isNaN(amount)) {
      widgets.setAmount({ currency: 'KRW', value: amount }).catch(() => {});
    }
  }

  function step(delta) {
    const n = quantity();
    const next = Math.min(maxQuantity(selected()), Math.max(1, (Number.isInteger(n) ? n : 1) + delta));
    quantityInput.value = String(next);
    showError('');
    update();
  }

  async function loadProducts() {
    const { status, body } = await api('GET', '/products');
    if (status !== 200 || !Array.isArray(body)) {
      const s = $('products-status');
      s.hidden = false;
      s.textContent = '상품을 불러오지 못했어요. ' + reason(body.code, body.message);
      return;
    }
    products = body.map((p) => ({ ...p, price: Number(p.price) }));
    renderProducts();
  }

  async function loadConfig() {
    const { status, body } = await api('GET', '/checkout/config');
    config = status === 200 && body.mode ? body : { mode: 'none' };
    const badge = $('mode-badge');
    const note = $('mode-note');
    if (config.mode === 'simulator') {
      badge.textContent = '테스트 결제';
      note.textContent = '오프라인 결제 시뮬레이터로 결제해요. 실제로 돈이 나가지 않아요. 카드 번호가 9999로 끝나면 승인이 거절돼요.';
    } else if (config.mode === 'toss' && String(config.clientKey).startsWith('test_')) {
      badge.textContent = '토스페이먼츠 테스트';
      note.textContent = '토스페이먼츠 테스트 키로 결제해요. 실제로 돈이 나가지 않아요.';
    } else if (config.mode === 'none') {
      note.textContent = '결제 수단이 설정되지 않아 지금은 결제할 수 없어요.';
    }
    badge.hidden = !badge.textContent;
    note.hidden = !note.textContent;
  }

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const s = el('script', { src, async: true });
      s.onload = resolve;
      s.onerror = () => reject(new Error('load ' + src));
      document.head.append(s);
    });
  }

  // The widget shows Toss's payment methods and terms; the amount follows the choice on
  // the page, and requestPayment later uses the server's orderId and amount.
  async function startTossWidget() {
    const box = $('toss-widget');
    box.hidden = false;
    try {
      await loadScript(TOSS_SDK);
      // A guest checkout; a shop with accounts passes its own opaque customer key.
      const w = window.TossPayments(config.clientKey).widgets({ customerKey: window.TossPayments.ANONYMOUS });
      const amount = total();
      await w.setAmount({ currency: 'KRW', value: Number.isNaN(amount) ? 0 : amount });
      await Promise.all([
        w.renderPaymentMethods({ selector: '#payment-method', variantKey: 'DEFAULT' }),
        w.renderAgreement({ selector: '#agreement', variantKey: 'AGREEMENT' }),
      ]);
      widgets = w;
    } catch (e) {
      box.hidden = true;
      showError('토스페이먼츠 결제 위젯을 불러오지 못했어요. ' + (e && e.message ? e.message : ''));
    }
    update();
  }

  async function pay(event) {
    event.preventDefault();
    if (busy) return;
    const p = selected();
    const amount = total();
    if (!p || Number.isNaN(amount)) {
      showError(p ? '수량을 확인해 주세요.' : '상품을 골라 주세요.');
      (p ? quantityInput : list.querySelector('input:not(:disabled)') || payButton).focus();
      return;
    }
    showError('');
    setBusy(true, '주문을 만드는 중…');
    const { status, body } = await api('POST', '/orders', {
      userId: USER_ID, productId: p.id, quantity: quantity(), amount,
    });
    if (status !== 201) {
      setBusy(false);
      showError(reason(body.code, body.message));
      if (['OUT_OF_STOCK', 'AMOUNT_MISMATCH', 'PRODUCT_NOT_FOUND'].includes(body.code)) loadProducts();
      return;
    }
    const successUrl = new URL('/success', location.href).href;
    const failUrl = new URL('/fail', location.href).href;

    if (config.mode === 'simulator') {
      const windowUrl = new URL(config.windowUrl);
      const params = { orderId: body.orderId, orderName: body.orderName, amount: String(body.amount), successUrl, failUrl };
      for (const [k, v] of Object.entries(params)) windowUrl.searchParams.set(k, v);
      setBusy(true, '결제창으로 이동 중…');
      location.assign(windowUrl.href);
      return;
    }
    try {
      await widgets.setAmount({ currency: 'KRW', value: Number(body.amount) });
      await widgets.requestPayment({ orderId: body.orderId, orderName: body.orderName, successUrl, failUrl });
    } catch (e) {
      // The shopper closed the payment window, or the widget refused (e.g. terms not agreed).
      setBusy(false);
      showError(e && e.message ? e.message : '결제를 시작하지 못했어요.');
    }
  }

  form.addEventListener('submit', pay);
  form.addEventListener('change', (e) => {
    if (e.target.name === 'product') {
      showError('');
      update();
    }
  });
  quantityInput.addEventListener('input', update);
  $('quantity-down').addEventListener('click', () => step(-1));
  $('quantity-up').addEventListener('click', () => step(+1));
  // Coming back from the payment window with the browser's back button restores this page
  // as it was left: busy. Start over with fresh stock.
  window.addEventListener('pageshow', (e) => {
    if (e.persisted) {
      setBusy(false);
      loadProducts();
    }
  });

  (async () => {
    await Promise.all([loadConfig(), loadProducts()]);
    if (config.mode === 'toss') await startTossWidget();
    update();
  })();
})();
