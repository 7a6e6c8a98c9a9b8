import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mayAccessChannel } from './channel-access';

describe('mayAccessChannel', () => {
  it('allows public.* to anyone, exact grants and prefix grants at any depth', () => {
    assert.equal(mayAccessChannel([], 'public.status'), true);
    assert.equal(mayAccessChannel(['news'], 'news'), true);
    assert.equal(mayAccessChannel(['team.*'], 'team.42'), true);
    assert.equal(mayAccessChannel(['team.*'], 'team.42.ops'), true);
  });
  it('refuses everything else', () => {
    assert.equal(mayAccessChannel([], 'news'), false);
    assert.equal(mayAccessChannel(['news'], 'news.sport'), false);
    assert.equal(mayAccessChannel(['team.*'], 'team'), false);
    assert.equal(mayAccessChannel(['team.*'], 'teams.1'), false);
    assert.equal(mayAccessChannel(['*'], 'news'), false);
    assert.equal(mayAccessChannel([], 'public'), false);
  });
});
