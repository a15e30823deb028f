import { describeBlobDriver } from '../conformance.js';
import { MemoryDriver } from './driver.js';

describeBlobDriver('memory', () => new MemoryDriver());
