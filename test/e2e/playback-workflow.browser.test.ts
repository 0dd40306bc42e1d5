/** Chromium playback of the workflow's outputs on the default backend (MediaConvert with the SPEKE key provider). */
import { jest } from '@jest/globals';
import { describePlaybackWorkflow, PLAYBACK_TIMEOUT_MS } from '../support/playback-workflow-suite.js';

jest.setTimeout(PLAYBACK_TIMEOUT_MS);
describePlaybackWorkflow('mediaconvert');
