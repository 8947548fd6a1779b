import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mailboxOf, mailBudgetOf } from '../../../functions/intake/mail-budget';

const BOT = 'st-11111111-aaaa-4aaa-8aaa-111111111111';

describe('mailboxOf', () => {
  it.each([
    ['victim@example.com', 'victim@example.com'],
    ['Victim@Example.COM', 'victim@example.com'],
    ['  victim@example.com ', 'victim@example.com'],
    ['victim+1@example.com', 'victim@example.com'],
    ['VICTIM+News+Weekly@EXAMPLE.com', 'victim@example.com'],
    ['victim+@example.com', 'victim@example.com'],
    // Nothing would be left of the local part: the address is its own mailbox.
    ['+tag@example.com', '+tag@example.com'],
    // Provider-specific aliases are not folded (documented residual).
    ['vic.tim@example.com', 'vic.tim@example.com'],
    ['victim-news@example.com', 'victim-news@example.com'],
  ])('folds %s into the mailbox %s', (address, mailbox) => {
    expect(mailboxOf(address)).toBe(mailbox);
  });

  const local = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/);
  const tag = fc.stringMatching(/^[A-Za-z0-9._+-]{0,12}$/);
  const domain = fc.stringMatching(/^[a-z0-9-]{1,12}\.[a-z]{2,6}$/);
  /** Upper-cases the characters `mask` picks. */
  const recase = (text: string, mask: boolean[]) => [...text].map((c, i) => (mask[i % Math.max(1, mask.length)] ? c.toUpperCase() : c)).join('');

  it('gives every plus and case variant of an address the mailbox of the plain address', () => {
    fc.assert(
      fc.property(local, tag, domain, fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), (l, t, d, mask) => {
        const variant = recase(`${l}+${t}@${d}`, mask);
        expect(mailboxOf(variant)).toBe(`${l}@${d}`);
        expect(mailboxOf(recase(`${l}@${d}`, mask))).toBe(`${l}@${d}`);
      }),
    );
  });

  it('is idempotent, and keeps different plain addresses apart', () => {
    fc.assert(
      fc.property(local, local, domain, tag, (a, b, d, t) => {
        const m = mailboxOf(`${a}+${t}@${d}`);
        expect(mailboxOf(m)).toBe(m);
        expect(mailboxOf(`${a}@${d}`) === mailboxOf(`${b}@${d}`)).toBe(a === b);
      }),
    );
  });
});

describe('mailBudgetOf', () => {
  it.each([
    ['the address’s own all-bots request is paced, never counted', 'victim@example.com', '*', { kind: 'paced' }],
    ['its bot-limited requests share the mailbox budget', 'victim@example.com', BOT, { kind: 'mailbox', mailbox: 'victim@example.com' }],
    ['a +tag address shares the mailbox budget even for all bots', 'victim+1@example.com', '*', { kind: 'mailbox', mailbox: 'victim@example.com' }],
    ['a +tag address with bots shares it too', 'victim+x@example.com', BOT, { kind: 'mailbox', mailbox: 'victim@example.com' }],
  ])('%s', (_rule, address, scopeKey, budget) => {
    expect(mailBudgetOf(address, scopeKey)).toEqual(budget);
  });

  it('paces exactly the all-bots requests of addresses that are their own mailbox', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9+._-]{1,16}@[a-z]{1,8}\.[a-z]{2,4}$/), fc.constantFrom('*', BOT), (address, scopeKey) => {
        const budget = mailBudgetOf(address, scopeKey);
        expect(budget.kind === 'paced').toBe(scopeKey === '*' && mailboxOf(address) === address);
        if (budget.kind === 'mailbox') expect(budget.mailbox).toBe(mailboxOf(address));
      }),
    );
  });
});
