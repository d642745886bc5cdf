//! Shapes, generic over their number type: enough traits and generics to give rustc's type
//! checker and monomorphizer real work.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::{Add, Mul, Sub};

include!(concat!(env!("OUT_DIR"), "/sines.rs"));

pub trait Named {
    fn type_name() -> &'static str;
}

pub trait Number:
    Copy + Debug + PartialOrd + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self>
{
    fn zero() -> Self;
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
}

macro_rules! number {
    ($($t:ty),*) => {$(
        impl Number for $t {
            fn zero() -> Self { 0 as $t }
            fn from_f64(v: f64) -> Self { v as $t }
            fn to_f64(self) -> f64 { self as f64 }
        }
    )*};
}
number!(f32, f64, i32, i64, u32, u64);

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point<T> {
    pub x: T,
    pub y: T,
}

impl<T: Number> Point<T> {
    pub fn rotate(self, degrees: usize) -> Point<T> {
        let sin = SINES[degrees % 360];
        let cos = SINES[(degrees + 90) % 360];
        let (x, y) = (self.x.to_f64(), self.y.to_f64());
        Point {
            x: T::from_f64(x * cos - y * sin),
            y: T::from_f64(x * sin + y * cos),
        }
    }
}

pub trait Shape<T: Number>: Debug {
    fn area(&self) -> T;
    fn corners(&self) -> Vec<Point<T>>;
}

#[derive(Debug, Clone)]
pub struct Polygon<T> {
    pub points: Vec<Point<T>>,
}

impl<T: Number> Shape<T> for Polygon<T> {
    fn area(&self) -> T {
        // The shoelace formula.
        let n = self.points.len();
        let mut twice = T::zero();
        for i in 0..n {
            let (a, b) = (self.points[i], self.points[(i + 1) % n]);
            twice = twice + a.x * b.y - b.x * a.y;
        }
        let area = twice.to_f64().abs() / 2.0;
        T::from_f64(area)
    }

    fn corners(&self) -> Vec<Point<T>> {
        self.points.clone()
    }
}

pub fn regular_polygon<T: Number>(sides: usize, radius: T) -> Polygon<T> {
    let start = Point { x: radius, y: T::zero() };
    Polygon {
        points: (0..sides).map(|i| start.rotate(i * 360 / sides)).collect(),
    }
}

/// Groups shapes by their area rounded down: one generic function, many instantiations.
pub fn by_area<T: Number, S: Shape<T>>(shapes: &[S]) -> BTreeMap<i64, Vec<String>> {
    let mut groups: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for shape in shapes {
        let key = shape.area().to_f64() as i64;
        groups.entry(key).or_default().push(format!("{shape:?}"));
    }
    groups
}
