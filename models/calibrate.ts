// Fits the step-time calibration to the H100 fixture and prints model vs measured for every point.
// Run: npx tsx models/calibrate.ts   (prints the fitted constants; H100_CALIBRATION holds the committed ones)
import { fileURLToPath } from 'node:url';
import { calibrationPoints, fitCalibration, relativeErrors } from './calibration.ts';
import { H100_CALIBRATION } from './step-time.ts';

const points = calibrationPoints();
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const fitted = fitCalibration(points);
  console.log('fitted calibration:', JSON.stringify(fitted, null, 2));
  console.log('\ncommitted calibration (H100_CALIBRATION) vs measured:');
  console.log('kind     model                 shape              measured ms   model ms   error   required');
  for (const row of relativeErrors(points, H100_CALIBRATION)) {
    console.log(
      `${row.kind.padEnd(8)} ${row.model.padEnd(21)} ${row.shape.padEnd(18)} ${row.measuredMs.toFixed(3).padStart(11)} ${row.modelMs
        .toFixed(3)
        .padStart(10)} ${(row.error * 100).toFixed(1).padStart(6)}%   ${row.required ? 'yes' : ''}`,
    );
  }
}
