/** Chromium playback of the workflow's outputs on the Elastic Transcoder backend (its own process, own stack). */
import { jest } from '@jest/globals';
import { describePlaybackWorkflow, PLAYBACK_TIMEOUT_MS } from '../support/playback-workflow-suite.js';

jest.setTimeout(PLAYBACK_TIMEOUT_MS);
describePlaybackWorkflow('elastictranscoder');
